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

# valid_server HOST[:PORT]: HOST an RFC 1123 name or a dotted quad, PORT 1-65535.
valid_server() {
	host=${1%:*} port=
	[ "$host" = "$1" ] || port=${1##*:}
	case "$port" in *[!0-9]*) return 1 ;; esac
	[ -z "$port" ] || { [ "$port" -ge 1 ] && [ "$port" -le 65535 ]; } || return 1
	valid_name "$host"
}
