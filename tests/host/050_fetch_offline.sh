# SUMMARY: with a filled cache, fetching needs no network: apt is never called and every file is verified
set -eu
mkdir -p "$WORK/bin"
cat >"$WORK/bin/apt-get" <<'STUB'
#!/bin/sh
echo "apt-get called: $*" >>"$WORK/apt-called"
exit 100
STUB
cp "$WORK/bin/apt-get" "$WORK/bin/apt-cache"
chmod +x "$WORK/bin/apt-get" "$WORK/bin/apt-cache"
export WORK
for pkg in $(awk '!/^#/ && NF == 4 { print $1 }' "$TOP/sources.lock" | sort -u); do
	PATH="$WORK/bin:$PATH" "$TOP/scripts/fetch.sh" "$TOP/sources.lock" "$DL_DIR" "$APT_STATE" "$pkg"
done
[ ! -e "$WORK/apt-called" ] || { cat "$WORK/apt-called"; exit 1; }
