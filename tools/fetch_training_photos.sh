#!/usr/bin/env bash
# Downloads the photographs of a list (tools/training_photos.tsv unless another is given) from
# the Debian packages that ship them, with apt-get and without installing anything, and cuts them
# into training tiles with tools/make_training_photos.py (weights/MODEL_CARD.md, "More training
# photographs").
#
#   tools/fetch_training_photos.sh OUT      # OUT/tiles/{nature,people,urban,text,other}/*.jpg
#   tools/fetch_training_photos.sh OUT tools/training_photos_2.tsv   # OUT/tiles_2/...
#
# The tiles of training_photos_2.tsv go to OUT/tiles_2 (of a list NAME.tsv, to OUT/tiles_NAME),
# so that one OUT holds those of both lists. Train on them beside the shipped models' set by
# giving `train --data` a folder that holds all of them (folders are searched recursively). Needs a Debian 12 (bookworm) amd64 system with apt-get and
# dpkg-deb (77 packages, about 3.1 GB; training_photos_2.tsv's 4 are 760 MB, 442 MB of them new
# beside the first list's; kept in OUT/.debs so that a second run downloads nothing; apt-get
# update needs root, or set SKIP_APT_UPDATE=1), and python3 with Pillow. Elsewhere, put the same
# .deb files (https://snapshot.debian.org has every version) in OUT/.debs first: a package
# already there at the listed version is not downloaded. A package the archive no longer has at
# that version is left out, with a warning; tools/make_training_photos.py names them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: fetch_training_photos.sh OUT [LIST]}
list=${2:-$here/training_photos.tsv}
name=$(basename "$list" .tsv)
case $name in
  training_photos*) tiles=tiles${name#training_photos} ;;
  *) tiles=tiles_$name ;;
esac
mkdir -p "$out/.debs"
out=$(cd "$out" && pwd)

source "$here/debs.sh"
wanted=$(listed "$list" 1,2)
# A version the archive no longer has (a point release replaced it) leaves that package's
# photographs out instead of stopping the rest.
download_debs "$out/.debs" $wanted
rm -rf "$out/.debs/x"
for pv in $wanted; do
  package=${pv%%=*}
  deb=$(deb_of "$out/.debs" "$pv")
  [ -n "$deb" ] || continue
  mkdir -p "$out/.debs/x/$package"
  # Only the listed files are unpacked: some of these packages hold gigabytes of other things.
  # A photograph inside a file (FILE@OFFSET+LENGTH) needs the file.
  grep -v '^#' "$list" | awk -F'\t' -v p="$package" \
    '$1 == p { sub(/@[0-9]+\+[0-9]+$/, "", $3); print "./" $3 }' | sort -u >"$out/.debs/paths"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$out/.debs/x/$package" -T "$out/.debs/paths"
done
rm -rf "${out:?}/$tiles"
python3 "$here/make_training_photos.py" --packages "$out/.debs/x" --list "$list" --out "$out/$tiles"
rm -rf "$out/.debs/x"
