# Real ping through every shipped policy that permits ICMP (issue 12 item 9).
# A mirrored ICMP filter must let the reply of a query through: web-server's
# "ping" rule (echo request in, mirrored) answers pings, which it did not
# while mirroring swapped type and code like ports. IPv4 and, where the
# policy permits ICMPv6, IPv6 (with neighbour discovery on the link).
source "$(dirname "$0")/lib.sh"
e2e_setup icmp_mirrored
command -v ping >/dev/null || fail "missing tool: ping (iputils-ping, make deps)"

# Addresses the shipped policies name: domain-controller only answers its
# $clients (10.10.0.0/16, 2001:db8:10::/48).
A4=10.10.0.1
B4=10.10.0.2
A6=2001:db8:10::1
B6=2001:db8:10::2
ip -n "$NSA" addr add "$A4/16" dev "$VA" || fail "address $A4"
ip -n "$NSB" addr add "$B4/16" dev "$VB" || fail "address $B4"
for ns in "$NSA" "$NSB"; do
    nsenter --net="/run/netns/$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 ||
        fail "enable IPv6 in $ns"
done
ip -n "$NSA" addr add "$A6/64" dev "$VA" nodad || fail "address $A6"
ip -n "$NSB" addr add "$B6/64" dev "$VB" nodad || fail "address $B6"

# ping_ok NS-FUNC DST: two echo requests, every one answered.
ping_ok() { "$1" ping -q -n -c 2 -i 0.2 -W 1 "$2" >/dev/null 2>&1; }
# ping_blocked NS-FUNC DST: no answer.
ping_blocked() { ! "$1" ping -q -n -c 1 -W 1 "$2" >/dev/null 2>&1; }

check_policy() {  # NAME V4-B->A V4-A->B V6-B->A V6-A->B (ok | blocked | -)
    local name=$1 pol="$SECPOL_SOURCE_DIR/policies/$1.pol"
    say "policy $name"
    secpolA load "$pol" --dev "$VA" >/dev/null || fail "load $name"
    local want dst who what
    for spec in "$2 inB $A4 B->A-v4" "$3 inA $B4 A->B-v4" "$4 inB $A6 B->A-v6" "$5 inA $B6 A->B-v6"; do
        read -r want who dst what <<<"$spec"
        case $want in
            ok) ping_ok "$who" "$dst" || fail "$name: ping $what ($dst) got no reply; the policy permits it" ;;
            blocked) ping_blocked "$who" "$dst" || fail "$name: ping $what ($dst) was answered; the policy blocks it" ;;
            -) continue ;;
        esac
        say "ok: $name: ping $what $want"
    done
    secpolA counters --dev "$VA" --json >"$E2E_TMP/$name.json" || fail "counters $name"
    secpolA unload --dev "$VA" >/dev/null || fail "unload $name"
}

# web-server: echo requests in (type 8, mirrored: replies out are type 0);
# nothing lets this host ping out over IPv4; ICMPv6 is open both ways.
check_policy web-server ok blocked ok ok
# The replies were counted on the "ping" rule, outbound.
expect_ge "$(jget "$E2E_TMP/web-server.json" "[r for r in d['rules'] if r['label']=='ping'][0]['out']['permit']['packets']")" 2 \
    "web-server: echo replies permitted by the mirrored ping rule"
expect_ge "$(jget "$E2E_TMP/web-server.json" "d['default']['out']['packets']")" 1 \
    "web-server: the outbound echo request met 'default block'"
# domain-controller: all ICMP with its clients, all ICMPv6, mirrored.
check_policy domain-controller ok ok ok ok
# Windows 2000's built-in policies: all ICMP mirrored ahead of the IP-wide
# secure rule. ICMPv6 (neighbour discovery included) is not ICMP: no IPv6.
check_policy secure-server-require-security ok ok - -
check_policy server-request-security ok ok - -
