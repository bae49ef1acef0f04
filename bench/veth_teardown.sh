# Sourced by the veth benchmarks (veth_pps.sh, veth_cost.sh): removes what
# they set up (the sink, secpol on VB, both namespaces, pins, TMP), so an
# interrupted run leaves nothing behind.  Uses their NSA NSB VB SECPOL TMP
# and SINK_PID.
veth_bench_teardown() {
    [[ -n "${SINK_PID:-}" ]] && kill "$SINK_PID" 2>/dev/null
    if [[ -e "/run/netns/$NSB" ]]; then
        nsenter --net="/run/netns/$NSB" "$SECPOL" unload --dev "$VB" >/dev/null 2>&1
        ip netns del "$NSB"
    fi
    [[ -e "/run/netns/$NSA" ]] && ip netns del "$NSA"
    rm -rf "/sys/fs/bpf/secpol/$VB" "/run/secpol/$VB" "/run/secpol/$VB.lock" "$TMP"
}
