# SUMMARY: every cmdline name the boot scripts or hvnode-agent read is in the README's table, the scripts read the cmdline only through one parser, and that parser keeps words literal
set -eu
cd "$TOP"
fail=0
# The README's table: rows whose first cell starts `NAME=...`.
sed -n '/^### Kernel command line/,/^### /p' README.md | grep -oE '^\| `[A-Za-z0-9_.]+=' |
	sed 's/^| `//; s/=$//' | sort -u >"$WORK/documented"
{
	grep -rhoE --exclude=cmdline.sh 'cmdline_values? [A-Za-z0-9_.]+' rootfs/overlay | awk '{ print $2 }'
	grep -hoE 'IS\("[A-Za-z0-9_.]+"\)' agent/config.c | sed 's/^IS("//; s/")$//'
} | sort -u >"$WORK/read"
[ -s "$WORK/read" ] || { echo "found no cmdline name read by the scripts or the agent"; exit 1; }
echo "names read: $(tr '\n' ' ' <"$WORK/read")"
for name in $(comm -23 "$WORK/read" "$WORK/documented"); do
	echo "FAIL: $name is read from the cmdline but not in the README's \"Kernel command line\" table"
	fail=1
done
# One reading of the cmdline: no script but the parser opens /proc/cmdline.
for f in $(grep -rl '/proc/cmdline' rootfs/overlay rootfs/initramfs | LC_ALL=C sort); do
	[ "$f" = rootfs/overlay/usr/lib/hvnode/cmdline.sh ] && continue
	echo "FAIL: $f reads /proc/cmdline itself; use rootfs/overlay/usr/lib/hvnode/cmdline.sh"
	fail=1
done
# The parser: the last word wins, a repeated name lists every value, globs stay literal.
mkdir -p "$WORK/glob" && : >"$WORK/glob/match-me"
printf 'console=ttyS0 hvnode.x=* hvnode.x=2 hvnode.k=a hvnode.k=* hvnode.empty= hvnode.xx=3\n' >"$WORK/cmdline"
got=$(cd "$WORK/glob" && HVNODE_CMDLINE="$WORK/cmdline" sh -c '. "$1"
	printf "[%s]" "$(cmdline_value hvnode.x)" "$(cmdline_values hvnode.k | tr "\n" ,)" "$(cmdline_value hvnode.empty)"
	cmdline_value hvnode.absent >/dev/null || printf "[absent]"
	cmdline_value hvnode.empty >/dev/null && printf "[set]"' sh "$TOP/rootfs/overlay/usr/lib/hvnode/cmdline.sh")
want='[2][a,*,][][absent][set]'
if [ "$got" = "$want" ]; then
	echo "parser: $got"
else
	echo "FAIL: the parser gave $got, not $want"
	fail=1
fi
exit $fail
