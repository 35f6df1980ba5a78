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
for hash in "$TOP"/packages/*/*.hash; do
	PATH="$WORK/bin:$PATH" "$TOP/scripts/fetch.sh" "$hash" "$DL_DIR" "$APT_STATE" "$(basename "$hash" .hash)"
done
[ ! -e "$WORK/apt-called" ] || { cat "$WORK/apt-called"; exit 1; }
