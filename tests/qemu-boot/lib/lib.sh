# hvnode boot tests: shared helpers, sourced by each NNN_name/test.sh.
# Environment from run-all.sh: IMG (the images directory), WORK (a scratch dir for this test).
# QEMU runs under TCG with -cpu max (emulated SVM, so the node's own KVM works).
LIB=$(cd "$(dirname "$0")/../lib" && pwd)
: "${IMG:?}" "${WORK:?}"
CONSOLE="$WORK/console.log"
SHELL_SOCK="$WORK/shell.sock"
QEMU_PID=
READY='hvnode: node ready \(version '
# Seconds to wait for the ready marker (TCG; measured boots take 10-40 s on 2 cores).
BOOT_TIMEOUT=${BOOT_TIMEOUT:-240}

# qemu_start ARGS...: boots a node in the background; serial 0 to $CONSOLE, serial 1 on
# $SHELL_SOCK (the debug shell, when the cmdline enables it). QEMU_MEM: RAM in MiB (default 1536).
qemu_start() {
	rm -f "$CONSOLE" "$SHELL_SOCK"
	qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m "${QEMU_MEM:-1536}" -display none -no-reboot \
		-serial "file:$CONSOLE" -serial "unix:$SHELL_SOCK,server=on,wait=off" \
		-monitor none "$@" >"$WORK/qemu.log" 2>&1 &
	QEMU_PID=$!
}

qemu_stop() {
	if [ -n "$QEMU_PID" ]; then
		kill "$QEMU_PID" 2>/dev/null || true
		wait "$QEMU_PID" 2>/dev/null || true
		QEMU_PID=
	fi
}

# wait_console REGEX [TIMEOUT_S]: fails the test unless the console shows REGEX in time.
wait_console() {
	CONSOLE_WRITER_PID=$QEMU_PID python3 "$LIB/console.py" wait "$CONSOLE" "$1" "${2:-$BOOT_TIMEOUT}" || {
		echo "qemu: $(cat "$WORK/qemu.log" 2>/dev/null)" >&2
		return 1
	}
}

# node_sh COMMAND: runs COMMAND in the node's debug shell; prints output, returns its status.
node_sh() {
	python3 "$LIB/console.py" sh "$SHELL_SOCK" 60 "$1"
}

# check DESCRIPTION COMMAND: node_sh COMMAND must succeed.
check() {
	if out=$(node_sh "$2"); then
		echo "  ok: $1"
	else
		echo "  FAIL: $1 (command: $2)"
		echo "$out" | sed 's/^/    /'
		return 1
	fi
}

# console_lacks DESCRIPTION STRING: the console log must not hold STRING (a fixed string);
# says ok or FAIL with DESCRIPTION, like check.
console_lacks() {
	if grep -qF -- "$2" "$CONSOLE"; then
		echo "  FAIL: $1"
		return 1
	fi
	echo "  ok: $1"
}

# free_port: prints a free TCP port on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# node_cmdline: the PXE set's kernel cmdline (what pxelinux passes), for -kernel boots.
node_cmdline() {
	sed -n 's/^ *APPEND //p' "$IMG/pxe/pxelinux.cfg/default"
}

# ssh_node PORT KEY COMMAND: runs COMMAND on the node as root over SSH with KEY.
ssh_node() {
	ssh -i "$2" -p "$1" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR root@127.0.0.1 "$3"
}

# wait_ssh PORT KEY [TIMEOUT_S]: retries an SSH login until it works or the time is up.
wait_ssh() {
	deadline=$(( $(date +%s) + ${3:-60} ))
	while ! ssh_node "$1" "$2" true 2>"$WORK/ssh-wait.err"; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			echo "ssh: no login within ${3:-60} s: $(cat "$WORK/ssh-wait.err")" >&2
			return 1
		fi
		sleep 1
	done
}

# boot_pxe_set "EXTRA CMDLINE" QEMU_ARGS...: boots the PXE set's kernel and initrd directly
# (-kernel/-initrd) with pxelinux's cmdline, the debug shell on ttyS1, and EXTRA.
boot_pxe_set() {
	extra=$1
	shift
	qemu_start -kernel "$IMG/pxe/vmlinuz" -initrd "$IMG/pxe/initrd.img" \
		-append "$(node_cmdline) hvnode.debug_shell=ttyS1${extra:+ $extra}" "$@"
}

# new_ssh_key FILE: makes an ed25519 key pair FILE and FILE.pub, prints the key in the
# hvnode.ssh_key= form (TYPE:BASE64).
new_ssh_key() {
	ssh-keygen -q -t ed25519 -N '' -f "$1"
	awk '{ print $1 ":" $2 }' "$1.pub"
}

# pct P FILE: the P-th percentile (nearest rank) of the numbers in FILE (bench figures).
pct() {
	sort -n "$2" | awk -v p="$1" '{ v[NR] = $1 } END { i = int((p * NR + 99) / 100); if (i < 1) i = 1; print v[i] }'
}

# ---- the test manager (lib/manager.py) --------------------------------------------------------
MANAGER_DIR="$WORK/manager"
MANAGER_PID=
MANAGER_TOKEN=test-join-token

# manager_start [--port N] [ARGS...]: starts the test manager on MANAGER_DIR (keys and records
# kept across restarts) and waits for it to listen; sets MANAGER_PORT, MANAGER_PIN, MANAGER_URL
# (as the node sees the host: 10.0.2.2).
manager_start() {
	: >"$WORK/manager.out"
	python3 "$LIB/manager.py" serve "$MANAGER_DIR" --token "$MANAGER_TOKEN" "$@" \
		>>"$WORK/manager.out" 2>&1 &
	MANAGER_PID=$!
	python3 "$LIB/console.py" wait "$WORK/manager.out" '^manager: listening' 60
	MANAGER_PORT=$(cat "$MANAGER_DIR/port")
	MANAGER_PIN=$(cat "$MANAGER_DIR/pin")
	MANAGER_URL=https://10.0.2.2:$MANAGER_PORT
}

manager_stop() {
	if [ -n "$MANAGER_PID" ]; then
		kill "$MANAGER_PID" 2>/dev/null || true
		wait "$MANAGER_PID" 2>/dev/null || true
		MANAGER_PID=
	fi
}

# manager_wait ARGS...: manager.py wait on MANAGER_DIR (see its --help); prints the requests.
manager_wait() {
	python3 "$LIB/manager.py" wait "$MANAGER_DIR" "$@"
}

# agent_cmdline [PIN]: the cmdline that points a node at the test manager (pin mode).
agent_cmdline() {
	echo "hvnode.manager=$MANAGER_URL hvnode.manager_pin=${1:-$MANAGER_PIN} hvnode.join_token=$MANAGER_TOKEN"
}

stop_all() {
	qemu_stop
	manager_stop
}

# screen_cmd TEXT...: a node command that waits up to 20 s (the status screen redraws every 3 s)
# until tty1 (/dev/vcs1) shows every fixed string TEXT.
screen_cmd() {
	cond=
	for t in "$@"; do
		cond="$cond && grep -a -q -F '$t' /dev/vcs1"
	done
	echo "i=0; until true$cond; do i=\$((i+1)); [ \$i -lt 20 ] || exit 1; sleep 1; done"
}

# ---- nested guests: the cmdline every test guest boots with; VMs the test manager declares ---
GUEST_CMDLINE='console=ttyS0 panic=-1 quiet init_on_free=0 init_on_alloc=0 i8042.noaux i8042.nomux i8042.nopnp'

# mgr ARGS...: the test manager's CLI (manager.py vm ... "$MANAGER_DIR" NODE ...).
mgr() { python3 "$LIB/manager.py" "$@"; }

# guest_images INIT [PROGRAM...]: $WORK/guest.gz (busybox, INIT as /init and each PROGRAM in
# /bin, gzip cpio) and $WORK/disk.img (4096 lines "HVPATTERNnnnnnnn"), what the test VMs boot
# and read.
guest_images() {
	rm -rf "$WORK/initramfs"
	mkdir -p "$WORK/initramfs/bin" "$WORK/initramfs/proc" "$WORK/initramfs/sys" "$WORK/initramfs/dev"
	cp "$BUSYBOX" "$WORK/initramfs/bin/busybox"
	cp "$1" "$WORK/initramfs/init"
	chmod 755 "$WORK/initramfs/init" "$WORK/initramfs/bin/busybox"
	shift
	for program in "$@"; do
		install -m 0755 "$program" "$WORK/initramfs/bin/"
	done
	(cd "$WORK/initramfs" && find . | LC_ALL=C sort | cpio --reproducible -o -H newc -R 0:0 2>/dev/null) |
		gzip -n >"$WORK/guest.gz"
	awk 'BEGIN { for (i = 0; i < 4096; i++) printf "HVPATTERN%07d\n", i }' >"$WORK/disk.img"
}

# vm_wait NODE NAME ARGS...: the node reports VM NAME as ARGS say (manager.py vm wait) within
# 240 s (nested guests under TCG); the report goes to $WORK/wait.json. Ends the test otherwise,
# with the VM's console and VMM log.
vm_wait() {
	node=$1 name=$2
	shift 2
	mgr vm wait "$MANAGER_DIR" "$node" "$name" --timeout 240 "$@" >"$WORK/wait.json" || {
		echo "  FAIL: VM $name never reported $*"
		node_sh "tail -n 20 /run/hvnode/vms/$name/console.log /run/hvnode/vms/$name/vmm.log" | sed 's/^/    /'
		exit 1
	}
}

# guest_marker NAME TEXT [COUNT]: waits (in the node, 55 s) for COUNT lines TEXT in VM NAME's
# console log; shows the guest's markers when they do not come.
guest_marker() {
	check "$1: $2${3:+ ($3 times)}" "i=0; until [ \$(grep -c '$2' /run/hvnode/vms/$1/console.log 2>/dev/null) -ge ${3:-1} ]; do \
		i=\$((i+1)); [ \$i -lt 55 ] || exit 1; sleep 1; done" ||
		{ node_sh "grep HVGUEST /run/hvnode/vms/$1/console.log" | sed 's/^/    /'; return 1; }
}
