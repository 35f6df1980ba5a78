# SUMMARY: with a wrong SPKI pin the node never sends its join token, says why, and still boots to ready
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap stop_all EXIT
manager_start
boot_pxe_set "$(agent_cmdline sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=)" -uuid 2b4c6d8e-0f1a-4b3c-8d5e-6f7a8b9c0d1e
wait_console "$READY"
wait_console "hvnode-agent: registering with $MANAGER_URL \(attempt 2, next in [0-9]+ s\): manager's public key does not match hvnode.manager_pin \(not trusted; nothing sent\)" 120
echo "  ok: the console names the pin mismatch"
connects=$(grep -c '"event": "connect"' "$MANAGER_DIR/connections.jsonl" || true)
[ "$connects" -ge 2 ] || { echo "  FAIL: only $connects connections reached the manager"; exit 1; }
if [ -s "$MANAGER_DIR/requests.jsonl" ]; then
	echo "  FAIL: a request reached the manager:"; cat "$MANAGER_DIR/requests.jsonl"; exit 1
fi
echo "  ok: $connects TLS connections, no HTTP request, so the join token was never sent"
check "the status screen shows the error" "grep -q '^last_error=manager.s public key does not match' /run/hvnode/agent.state && grep -qx state=registering /run/hvnode/agent.state" || exit 1
