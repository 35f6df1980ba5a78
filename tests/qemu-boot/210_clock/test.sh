# SUMMARY: a node whose RTC is years behind names the clock skew when a manager's certificate is not valid yet at its time; with hvnode.ntp= it sets its clock, registers, and reports its time as synchronised
set -eu
. "$(dirname "$0")/../lib/lib.sh"
ntp_pid=
trap 'stop_all; [ -z "$ntp_pid" ] || kill "$ntp_pid" 2>/dev/null || true' EXIT
UUID=2b7e1c4d-6a5f-4e3b-8c2d-1f0e9d8c7b6a
manager_start --interval 2
# CA mode (a pin has no dates): the CA is on a config partition the cmdline names.
mkfs.fat -C -n HVCLOCK "$WORK/config.img" 16384 >/dev/null
mcopy -i "$WORK/config.img" "$MANAGER_DIR/ca.pem" ::/
cmdline="hvnode.config=LABEL=HVCLOCK hvnode.manager=$MANAGER_URL hvnode.manager_ca=/mnt/config/ca.pem hvnode.join_token=$MANAGER_TOKEN"
boot_node() {
	boot_pxe_set "$cmdline${1:+ $1}" -uuid "$UUID" -rtc base=2020-01-01T00:00:00 \
		-drive "file=$WORK/config.img,format=raw,if=virtio"
}

# Without NTP the node runs on its RTC, in 2020: the manager's certificate is not valid yet.
boot_node
wait_console "$READY"
wait_console "hvnode-agent: registering with .*: clock skew: the manager's certificate is not valid yet at the node's time 2020-01-01 [0-9:]+ UTC \(nothing sent; set hvnode.ntp= or correct the RTC\)" 60
echo "  ok: the failure is named as clock skew, with the node's time"
fail=0
check "no NTP server: ntp.state says not synced, source none" \
	"grep -qx synced=0 /run/hvnode/ntp.state && grep -qx source=none /run/hvnode/ntp.state" || fail=1
[ ! -s "$MANAGER_DIR/requests.jsonl" ] && echo "  ok: nothing reached the manager" ||
	{ echo "  FAIL: a request reached the manager"; fail=1; }
qemu_stop

# With hvnode.ntp= the clock is set from the server, and the node registers.
python3 "$LIB/ntp-server.py" "$WORK/ntp.port" "$WORK/ntp.log" &
ntp_pid=$!
python3 "$LIB/console.py" wait "$WORK/ntp.log" '^listening' 30
boot_node "hvnode.ntp=10.0.2.2:$(cat "$WORK/ntp.port")"
wait_console "$READY"
wait_console "hvnode: ntp: keeping time with 10\.0\.2\.2:[0-9]+ \(cmdline\)" 30
wait_console "hvnode: ntp: clock stepped by [0-9.]+ s; now $(date -u +%Y)-" 90
echo "  ok: ntpd stepped the clock from 2020 to this year"
wait_console 'hvnode-agent: registered as node [0-9a-f]+ ' 120
manager_wait --path '/heartbeat$' --status 200 --body '"synced": true' --timeout 60 >"$WORK/hb.json" || fail=1
python3 - "$WORK/hb.json" "$(cat "$WORK/ntp.port")" <<'PY' && echo "  ok: the heartbeat reports the node's time (within 60 s of the host's), synced, from hvnode.ntp" || { echo "  FAIL: the heartbeat's time"; fail=1; }
import json, sys, time
hb = json.loads(open(sys.argv[1]).readline())
t = hb["body"]["time"]
assert abs(t["unix_s"] - hb["t"]) < 60, t
assert t["synced"] is True and t["source"] == "cmdline" and t["servers"] == ["10.0.2.2:" + sys.argv[2]], t
PY
exit $fail
