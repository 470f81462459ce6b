# Debian packages at the versions a list names, downloaded with apt-get into a folder, nothing
# installed. Sourced by tools/fetch_validation.sh and tools/fetch_training_photos.sh.

# listed LIST FIELDS: PACKAGE=VERSION, once each, from the tab-separated LIST's columns FIELDS
# (package, then version; cut's syntax, e.g. 1,2), skipping comment lines and the header.
listed() { grep -v '^#' "$1" | tail -n +2 | cut -f"$2" | sort -u | tr '\t' =; }

# deb_of DIR PACKAGE=VERSION: the .deb of that version in DIR, or nothing. apt-get download
# names a file PACKAGE_VERSION_ARCH.deb, an epoch's colon written as %3a.
deb_of() { ls "$1/${2%%=*}_$(echo "${2#*=}" | sed 's/:/%3a/')_"*.deb 2>/dev/null | head -1 || true; }

# download_debs DIR PACKAGE=VERSION...: downloads those not in DIR yet, one at a time (after
# apt-get update, unless SKIP_APT_UPDATE is set), with a warning for each that the archive no
# longer has at that version; the caller decides what a missing one means.
download_debs() {
  local dir=$1 pv
  shift
  local missing=()
  for pv in "$@"; do [ -n "$(deb_of "$dir" "$pv")" ] || missing+=("$pv"); done
  [ ${#missing[@]} -gt 0 ] || return 0
  [ -n "${SKIP_APT_UPDATE:-}" ] || apt-get update -qq
  for pv in "${missing[@]}"; do
    (cd "$dir" && apt-get download -q "$pv") || echo "warning: $pv could not be downloaded" >&2
  done
}
