# hvnode boot scripts' checks of untrusted names and addresses (DHCP options, cmdline values).
# Sourced, never run. Each returns 0 when its argument is valid.

# valid_name NAME: an RFC 1123 host or domain name: labels of 1-63 of [A-Za-z0-9-], neither
# starting nor ending with '-', joined by dots, 253 bytes at most.
valid_name() {
	case "$1" in '' | bad | *[!A-Za-z0-9.-]*) return 1 ;; esac
	[ "${#1}" -le 253 ] || return 1
	printf '%s\n' "$1" | grep -Eqx '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*'
}

# valid_ipv4 ADDR: a dotted quad, each part 0-255.
valid_ipv4() {
	case "$1" in '' | *[!0-9.]* | *..* | .* | *.) return 1 ;; esac
	printf '%s\n' "$1" | awk -F. 'NF != 4 { exit 1 } { for (i = 1; i <= 4; i++) if ($i == "" || $i > 255) exit 1 }'
}

# valid_server HOST[:PORT]: HOST an RFC 1123 name or, when all digits and dots, a dotted
# quad; PORT 1-65535 (absent: the service's default).
valid_server() {
	set -- "$1" "${1%:*}" ""
	[ "$2" = "$1" ] || set -- "$1" "$2" "${1##*:}"
	case "$1" in *:) return 1 ;; esac
	case "$3" in *[!0-9]*) return 1 ;; esac
	[ -z "$3" ] || { [ "$3" -ge 1 ] && [ "$3" -le 65535 ]; } || return 1
	case "$2" in *[!0-9.]*) valid_name "$2" ;; *) valid_ipv4 "$2" ;; esac
}

# shown VALUE: VALUE fit for a console line: its first 80 bytes, every one outside
# [A-Za-z0-9.:-] as '?', so no escape sequence or newline from an untrusted source reaches a
# terminal or a log.
shown() { printf '%.80s' "$1" | tr -c 'A-Za-z0-9.:-' '?'; }
