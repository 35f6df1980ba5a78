# hvnode boot scripts' one reading of the kernel cmdline (/proc/cmdline, or $HVNODE_CMDLINE in
# host tests). Sourced, never run. Words are split on blanks with globbing off, so a word such
# as `*` stays a word; the kernel's double-quoted values are not supported by any hvnode.*
# parameter. The README's "Kernel command line" table is the list of names these scripts and
# hvnode-agent read (tests/host/110_cmdline_names checks it).

# cmdline_value NAME: prints the value of the last NAME=VALUE word and returns 0; returns 1
# (printing nothing) when no word sets NAME.
cmdline_value() {
	(
		set -f
		found=1 value=
		for word in $(cat "${HVNODE_CMDLINE:-/proc/cmdline}"); do
			case "$word" in "$1="*) value=${word#"$1="} found=0 ;; esac
		done
		[ "$found" = 0 ] && printf '%s\n' "$value"
		exit "$found"
	)
}

# cmdline_values NAME: prints the value of every NAME=VALUE word, one per line, in order.
cmdline_values() {
	(
		set -f
		for word in $(cat "${HVNODE_CMDLINE:-/proc/cmdline}"); do
			case "$word" in "$1="*) printf '%s\n' "${word#"$1="}" ;; esac
		done
	)
}
