#!/bin/sh
# register.sh IMG WORK [BOOTS]: a soak of registration (make soak-register; not part of make test).
# Boots one node BOOTS times in a row (default 20) with an HVNODE config partition (vfat), the
# way a rack comes back after a power event: in each boot the test manager is down from power-on
# for a random 0-40 s, then starts on the same port with the same keys and records. A boot
# counts once the manager has a heartbeat 200 from the node in it. Odd boots end with a power
# cut (the vfat partition left dirty), even ones with a clean reboot. At the end: the manager
# holds one node (no duplicate), no registration is pending, every boot heartbeat, and the node
# registered once (each later boot resumed with the identity on its partition). Prints one line
# per boot and the figures; exit 0 when all hold, 1 otherwise.
set -eu
USAGE="register.sh IMG WORK [BOOTS]"
. "$(dirname "$0")/../lib/standalone.sh"
BOOTS=${3:-20}
trap stop_all EXIT
UUID=7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f
rm -rf "$MANAGER_DIR" "$WORK/config.img" "$WORK/boots.txt"
mkfs.fat -C -n HVNODE "$WORK/config.img" 16384 >/dev/null
port=$(free_port)
manager_start --port "$port" --interval 2 # makes the keys and the records file
manager_stop
cmdline=$(agent_cmdline)
heartbeats() { manager_wait --path '/heartbeat$' --status 200 --timeout 0 2>/dev/null | wc -l; }
fail=0
i=1
while [ "$i" -le "$BOOTS" ]; do
	down=$(( $(od -An -N2 -tu2 /dev/urandom) % 41 ))
	before=$(heartbeats)
	t0=$(date +%s)
	CONSOLE="$WORK/console-$i.log"
	boot_pxe_set "$cmdline" -uuid "$UUID" -drive "file=$WORK/config.img,format=raw,if=virtio"
	sleep "$down" # the manager's downtime in this boot, not a wait for a result
	manager_start --port "$port" --interval 2
	if manager_wait --path '/heartbeat$' --status 200 --count $((before + 1)) --timeout 240 >/dev/null; then
		t=$(( $(date +%s) - t0 ))
		echo "  boot $i: manager down ${down} s; first heartbeat ${t} s after power-on"
		echo "$down $t" >>"$WORK/boots.txt"
	else
		echo "  FAIL: boot $i: manager down ${down} s; no heartbeat within 240 s of its start"
		fail=1
	fi
	manager_stop
	if [ $((i % 2)) = 1 ]; then
		qemu_stop
	else
		node_sh "reboot" >/dev/null 2>&1 || true
		wait "$QEMU_PID" 2>/dev/null || true
		QEMU_PID=
	fi
	i=$((i + 1))
done
python3 - "$(python3 "$LIB/manager.py" nodes "$MANAGER_DIR")" "$(python3 "$LIB/manager.py" pending "$MANAGER_DIR")" "$BOOTS" "$WORK/boots.txt" <<'PY' || fail=1
import json, sys
nodes, pending, boots = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
rows = [tuple(map(int, l.split())) for l in open(sys.argv[4])] if boots else []
checks = [
    (f"one node on the manager (found {len(nodes)})", len(nodes) == 1),
    (f"no registration pending ({pending})", pending == []),
    (f"every boot heartbeat ({len(rows)} of {boots})", len(rows) == boots),
    (f"one registration in {boots} boots ({nodes[0]['registered'] if nodes else 0})",
     len(nodes) == 1 and nodes[0]["registered"] == 1),
]
for what, ok in checks:
    print(("  ok: " if ok else "  FAIL: ") + what)
if rows:
    lag = sorted(t - d for d, t in rows)
    print(f"  first heartbeat after the manager came back: median {lag[len(lag) // 2]} s, "
          f"max {lag[-1]} s (manager down 0-40 s; the agent's backoff is capped at 60 s)")
sys.exit(0 if all(ok for _, ok in checks) else 1)
PY
exit $fail
