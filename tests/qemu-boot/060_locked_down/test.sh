# SUMMARY: locked-down node: no setuid files, no passwords, sysctls and lockdown applied, nothing listens, tty1 status screen
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap qemu_stop EXIT
boot_pxe_set "" -netdev user,id=n0 -device e1000,netdev=n0,mac=52:54:00:12:34:56
wait_console "$READY"
wait_console 'hvnode: network: DHCP lease 10\.0\.2\.15/24 on br0' 60
wait_console 'hvnode-status: .*10\.0\.2\.15/24' 30
fail=0
check "no setuid or setgid file in the image" \
	"test -z \"\$(find / \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o \\( -perm -4000 -o -perm -2000 \\) -print)\"" || fail=1
check "no account has a usable password" "test -z \"\$(awk -F: '\$2 !~ /^[!*]/' /etc/shadow)\"" || fail=1
check "writing to / fails" "! touch /x 2>/dev/null && ! touch /etc/x 2>/dev/null" || fail=1
check "kernel lockdown is integrity" "grep -q '\\[integrity\\]' /sys/kernel/security/lockdown" || fail=1
for kv in kernel.kptr_restrict=2 kernel.dmesg_restrict=1 kernel.perf_event_paranoid=3 \
	kernel.yama.ptrace_scope=2 fs.protected_symlinks=1 fs.protected_hardlinks=1 \
	fs.protected_fifos=2 fs.protected_regular=2 fs.suid_dumpable=0 \
	net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.all.accept_redirects=0 \
	net.ipv4.conf.all.send_redirects=0 dev.tty.ldisc_autoload=0; do
	k=${kv%=*} v=${kv#*=}
	check "sysctl $k reads back $v" "test \"\$(cat /proc/sys/$(echo "$k" | tr . /))\" = $v" || fail=1
done
# Compiled out (packages/linux/left-out.md): the knobs do not exist at all.
for k in kernel.unprivileged_bpf_disabled net.core.bpf_jit_harden kernel.kexec_load_disabled; do
	check "$k is compiled out" "! test -e /proc/sys/$(echo "$k" | tr . /)" || fail=1
done
check "/proc is mounted with hidepid=2" "grep -Eq '^proc /proc proc .*hidepid=(2|invisible)' /proc/mounts" || fail=1
for d in /run /tmp /var /dev/shm; do
	check "$d is nosuid,nodev,noexec" "grep -Eq '^tmpfs $d tmpfs rw,nosuid,nodev,noexec' /proc/mounts" || fail=1
done
check "nothing listens without SSH keys" "test -z \"\$(netstat -ltnu | awk 'NR > 2')\"" || fail=1
check "no getty or login runs" "! ps | grep -v grep | grep -Eq 'getty|login'" || fail=1
check "tty1 shows the status screen with the node's IP and MAC" \
	"$(screen_cmd 10.0.2.15/24 52:54:00:12:34:56 'KVM: ready')" || fail=1
check "no login prompt on tty1" "! grep -qi 'login:' /dev/vcs1" || fail=1
check "br0 is bridged over the NIC with the NIC's MAC" \
	"test \"\$(cat /sys/class/net/br0/address)\" = 52:54:00:12:34:56 && test -e /sys/class/net/br0/brif/eth0" || fail=1
exit $fail
