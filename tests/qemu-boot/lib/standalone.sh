# The start of a boot-test script run on its own (make bench, make soak) rather than by
# run-all.sh: sourced as `. "$(dirname "$0")/../lib/standalone.sh"` with USAGE set ("NAME IMG
# WORK [...]") and the script's own arguments in place. Takes IMG (the images directory) and
# WORK (a scratch directory, made) from $1 and $2, or exits 100 with the usage; exports them,
# sets HERE (the script's directory) and sources lib.sh.
[ $# -ge 2 ] || { echo "usage: $USAGE" >&2; exit 100; }
IMG=$(cd "$1" && pwd)
mkdir -p "$2"
WORK=$(cd "$2" && pwd)
export IMG WORK
HERE=$(cd "$(dirname "$0")" && pwd)
# lib.sh finds its directory from $0, which is the calling script's.
. "$HERE/../lib/lib.sh"
