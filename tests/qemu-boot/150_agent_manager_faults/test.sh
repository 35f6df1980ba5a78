# SUMMARY: manager down at boot: the node is ready and retries with backoff, then registers within one backoff cap; garbage and 10 MiB replies do not crash or stall the agent
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap stop_all EXIT
BACKOFF_CAP_S=60
# Keys and port first, then the manager goes down until the node has tried a few times.
manager_start
port=$MANAGER_PORT
manager_stop
boot_pxe_set "$(agent_cmdline)" -uuid 7d3b2a19-5c6e-4f80-9a1b-2c3d4e5f6a7b
wait_console "$READY"
echo "  ok: ready with the manager down"
wait_console "hvnode-agent: registering with $MANAGER_URL \(attempt 4, next in [0-9]+ s\): connection refused" 120
attempts=$(grep -c "hvnode-agent: registering with .*connection refused" "$CONSOLE")
echo "  attempts while the manager was down: $attempts"
grep "hvnode-agent: registering with" "$CONSOLE" | sed 's/.*(attempt/    (attempt/; s/): .*/)/'
manager_start --port "$port"
started=$(date +%s)
wait_console 'hvnode-agent: registered as node' $((BACKOFF_CAP_S + 40))
echo "  ok: registered $(( $(date +%s) - started )) s after the manager started (backoff cap $BACKOFF_CAP_S s)"
node_id=$(python3 "$LIB/manager.py" nodes "$MANAGER_DIR" | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["node_id"])')
pid=$(node_sh "pidof hvnode-agent")
echo garbage >"$MANAGER_DIR/mode"
wait_console 'hvnode-agent: ignored a bad heartbeat reply: reply is not a JSON object' 60
echo "  ok: a garbage heartbeat reply is reported and ignored"
echo huge >"$MANAGER_DIR/mode"
wait_console "hvnode-agent: heartbeat to $MANAGER_URL \(attempt 1, next in [0-9]+ s\): response larger than 65536 bytes" 60
echo "  ok: a 10 MiB reply is cut off at 64 KiB and reported"
echo normal >"$MANAGER_DIR/mode"
lines=$(wc -l <"$MANAGER_DIR/requests.jsonl")
manager_wait --path "^/api/v1/nodes/$node_id/heartbeat\$" --status 200 --count "$((lines + 1))" --timeout 1 >/dev/null 2>&1 || true
python3 - "$MANAGER_DIR/requests.jsonl" "$lines" <<'PY' || { echo "  FAIL: no heartbeat after the faults"; exit 1; }
import json, sys, time
path, skip = sys.argv[1], int(sys.argv[2])
deadline = time.time() + 90
while time.time() < deadline:
    new = [json.loads(l) for l in open(path).read().splitlines()[skip:]]
    if any(r["path"].endswith("/heartbeat") and r["status"] == 200 and r["mode"] == "normal" for r in new):
        sys.exit(0)
    time.sleep(0.5)
sys.exit(1)
PY
echo "  ok: heartbeats resume once the manager behaves"
check "the same agent process ran through every fault (pid $pid)" "test \"\$(pidof hvnode-agent)\" = $pid" || exit 1
