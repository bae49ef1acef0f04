# Two network namespaces joined by a veth pair, addressed, up, and with
# permanent neighbour entries (no ARP in the way of a measurement or a
# count). Shared by the e2e/interop tests (tests/e2e/lib.sh) and the
# real-traffic benchmark (bench/veth_pps.sh); each caller removes the
# namespaces in its own trap. Returns non-zero at the first step that fails.
netns_veth_pair() {  # NSA NSB VA VB IPA IPB (IPv4, /24)
    local nsa=$1 nsb=$2 va=$3 vb=$4 ipa=$5 ipb=$6 ns
    ip netns add "$nsa" && ip netns add "$nsb" || return 1
    ip link add "$va" netns "$nsa" type veth peer name "$vb" netns "$nsb" || return 1
    for ns in "$nsa" "$nsb"; do
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        ip -n "$ns" link set lo up || return 1
    done
    ip -n "$nsa" addr add "$ipa/24" dev "$va" && ip -n "$nsb" addr add "$ipb/24" dev "$vb" || return 1
    ip -n "$nsa" link set "$va" up && ip -n "$nsb" link set "$vb" up || return 1
    local maca macb
    maca=$(ip -n "$nsa" -br link show "$va" | awk '{print $3}')
    macb=$(ip -n "$nsb" -br link show "$vb" | awk '{print $3}')
    ip -n "$nsa" neigh replace "$ipb" lladdr "$macb" dev "$va" nud permanent &&
        ip -n "$nsb" neigh replace "$ipa" lladdr "$maca" dev "$vb" nud permanent
}
