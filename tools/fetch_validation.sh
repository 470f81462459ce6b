#!/usr/bin/env bash
# Rebuilds the validation set (docs/VALIDATION.md) from its public sources: downloads the
# Debian packages that tools/validation.tsv names, at the versions it names, with apt-get and
# without installing anything, unpacks them, and cuts the 145 crops with
# tools/make_validation.py. No image of the set is kept in the repository.
#
#   tools/fetch_validation.sh OUT      # OUT/validation/{nature,people,urban,text}/ID_N.png
#
# Then score a model on it with `srgan-wgpu eval OUT/validation --csv FILE` and compare two
# with tools/paired.py. Needs a Debian 12 (bookworm) amd64 system with apt-get and dpkg-deb
# (355 MB of packages, kept in OUT/.debs so that a second run downloads nothing;
# apt-get update needs root, or set SKIP_APT_UPDATE=1), and python3 with Pillow and numpy.
# Elsewhere, put the same .deb files (https://snapshot.debian.org has every version) in
# OUT/.debs first: a package already there at its listed version is not downloaded.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
list="$here/validation.tsv"
out=${1:?usage: fetch_validation.sh OUT}
mkdir -p "$out/.debs"
out=$(cd "$out" && pwd)

source "$here/debs.sh"
wanted=$(listed "$list" 2,3)
download_debs "$out/.debs" $wanted
for pv in $wanted; do
  package=${pv%%=*}
  deb=$(deb_of "$out/.debs" "$pv")
  # Another version may hold other photographs: the set needs exactly these.
  [ -n "$deb" ] || { echo "no .deb of $pv: snapshot.debian.org has it" >&2; exit 1; }
  rm -rf "$out/.debs/x/$package"
  mkdir -p "$out/.debs/x/$package"
  dpkg-deb -x "$deb" "$out/.debs/x/$package"
done
python3 "$here/make_validation.py" --packages "$out/.debs/x" --list "$list" --out "$out/validation"
rm -rf "$out/.debs/x"
