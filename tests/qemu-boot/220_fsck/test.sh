# SUMMARY: a damaged filesystem is checked before use: a config partition e2fsck -p can repair is repaired and mounted, a storage pool with errors it cannot repair is not used (VM disks go to RAM), and the console says which
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap stop_all EXIT
# The config partition was not cleanly unmounted and its superblock's free inode count is
# wrong: what a power cut leaves, and what e2fsck -p repairs on its own.
mkfs.ext4 -q -F -L HVNODE "$WORK/config.img" 16M >/dev/null
debugfs -w -R "ssv free_inodes_count 7" "$WORK/config.img" >/dev/null 2>&1
debugfs -w -R "ssv state 0" "$WORK/config.img" >/dev/null 2>&1
# The pool's root directory inode is wiped: e2fsck -p stops and asks for a manual check.
mkfs.ext4 -q -F -L HVNODE_POOL "$WORK/pool.img" 64M >/dev/null
debugfs -w -R "clri <2>" "$WORK/pool.img" >/dev/null 2>&1
debugfs -w -R "ssv state 0" "$WORK/pool.img" >/dev/null 2>&1
e2fsck -pn "$WORK/pool.img" >/dev/null 2>&1 && { echo "  FAIL: the test pool is not damaged"; exit 1; }
boot_pxe_set "" -drive "file=$WORK/config.img,format=raw,if=virtio" \
	-drive "file=$WORK/pool.img,format=raw,if=virtio"
wait_console "$READY"
fail=0
wait_console 'hvnode: config: /dev/vda \(LABEL=HVNODE\): repaired by e2fsck -p \(/run/hvnode/fsck-vda.log\)' 5 || fail=1
wait_console 'hvnode: config partition /dev/vda mounted on /mnt/config \(node state only\)' 5 || fail=1
wait_console 'hvnode: /dev/vdb \(HVNODE_POOL\): errors e2fsck -p cannot repair, exit 4 \(/run/hvnode/fsck-vdb.log\): not used' 5 || fail=1
wait_console 'hvnode: no usable HVNODE_POOL storage pool: VM disks live in RAM' 5 || fail=1
check "the repaired config partition is mounted read-write, and the node made its ssh directory on it" \
	"grep -q '^/dev/vda /mnt/config ext4 rw,' /proc/mounts && [ -d /mnt/config/ssh ]" || fail=1
check "the damaged pool is not mounted" "! grep -q ' /var/lib/hvnode/pool ' /proc/mounts" || fail=1
check "the fsck logs name what was found" \
	"grep -qi 'not cleanly unmounted' /run/hvnode/fsck-vda.log && grep -q 'UNEXPECTED INCONSISTENCY' /run/hvnode/fsck-vdb.log" || fail=1
exit $fail
