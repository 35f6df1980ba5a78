# hvnode boot scripts' checks of a disk before the node uses a filesystem on it (S40config, the
# config partition; S45pool, the storage pool). Sourced, never run. A disk the node did not
# write is untrusted: anyone at the server can plug one in, and a power cut can leave one
# half-written.

# disk_sysfs DEV: the sysfs directory of the whole disk DEV (/dev/sdb1 -> .../block/sdb).
disk_sysfs() {
	p=$(realpath "/sys/class/block/${1#/dev/}" 2>/dev/null) || return 1
	[ -e "$p/partition" ] && p=${p%/*}
	[ -d "$p" ] && printf '%s\n' "$p"
}

# disk_blkid DEV KEY: the value blkid gives DEV for KEY (TYPE, LABEL, UUID), "" when none.
disk_blkid() {
	blkid "$1" | sed -n "s/.* $2=\"\([^\"]*\)\".*/\1/p"
}

# disk_fixed DEV: 0 when DEV is on a fixed disk: not removable, not on USB, not an SD/MMC card
# (the MMC driver reports its cards as not removable). Else prints why not (" is on a USB disk
# (sdb)") and returns 1.
disk_fixed() {
	sys=$(disk_sysfs "$1") || { echo ": no such block device in sysfs"; return 1; }
	case "$sys" in
	*/usb[0-9]*/*) echo " is on a USB disk (${sys##*/})"; return 1 ;;
	*/mmc_host/*) echo " is on an SD/MMC card (${sys##*/})"; return 1 ;;
	esac
	[ "$(cat "$sys/removable" 2>/dev/null)" = 0 ] || { echo " is on a removable disk (${sys##*/})"; return 1; }
}

# fs_check DEV TYPE: checks the TYPE filesystem (vfat, ext2, ext3, ext4) on DEV before it is
# mounted, and makes the repairs that are safe unattended: fsck.fat -a then a read-only
# fsck.fat -n that must find nothing (dosfstools 4.2: exit 0 clean, 1 errors; a label the
# repair dropped is put back with fatlabel), or e2fsck -p
# (e2fsprogs 1.47: exit 0 clean, 1 and 2 repaired, 4 errors left, 8 and up failed). The
# output goes to /run/hvnode/fsck-NAME.log. Prints one line saying what was done when it was
# more than a clean check (": repaired by fsck.fat -a (/run/hvnode/fsck-vda.log)"), and returns
# 0 when DEV may be mounted, 1 when errors remain.
fs_check() {
	log=/run/hvnode/fsck-${1##*/}.log
	case "$2" in
	vfat)
		# fsck.fat -a drops a boot-sector label the root directory lacks: the partition
		# would not be found by its label at the next boot, so the label is put back.
		label=$(disk_blkid "$1" LABEL)
		fsck.fat -a -w "$1" >"$log" 2>&1
		rc=$?
		fsck.fat -n "$1" >>"$log" 2>&1 || { echo ": errors fsck.fat -a cannot repair ($log)"; return 1; }
		if [ -n "$label" ] && [ "$(disk_blkid "$1" LABEL)" != "$label" ]; then
			fatlabel "$1" "$label" >>"$log" 2>&1 || { echo ": fsck.fat -a removed its label $label, which could not be put back ($log)"; return 1; }
			echo ": repaired by fsck.fat -a, label $label put back ($log)"
		elif [ "$rc" != 0 ]; then
			echo ": repaired by fsck.fat -a ($log)"
		fi
		;;
	ext2 | ext3 | ext4)
		e2fsck -p "$1" >"$log" 2>&1
		rc=$?
		case "$rc" in
		0) ;;
		1 | 2 | 3) echo ": repaired by e2fsck -p ($log)" ;;
		*) echo ": errors e2fsck -p cannot repair, exit $rc ($log)"; return 1 ;;
		esac
		;;
	esac
	return 0
}
