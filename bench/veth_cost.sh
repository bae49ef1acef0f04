#!/usr/bin/env bash
# What an XDP program costs per packet under real traffic, next to what
# BPF_PROG_TEST_RUN says the same program costs on the same packet. The
# veth pair and the traffic are bench/veth_pps.sh's (udp_blast, sender and
# sink pinned); during each run kernel.bpf_stats_enabled is 1, so the kernel
# adds every run's time to the program's run_time_ns / run_cnt (bpftool
# prog show), which gives ns per packet of the XDP program as attached (the
# entry program: tail calls and subprograms run inside its figure). The
# stats cost two clock reads per run, paid by every program alike: compare
# programs with each other, or with test runs taken with the stats on too
# (both are printed). Configurations alternate round by round. Run it under
# the bench locks (it changes a global sysctl, restored on exit).
#
#   veth_cost.sh SECPOL BLAST EMPTY_XDP_OBJ SIZES SECONDS ROUNDS OBJ_PATTERN
#     OBJ_PATTERN: a path with %N% for the filter count, each written by
#     `secpol_bench --write-policy N veth FILE` (the objects veth_pps.sh loads).
#   Prints one line per run:
#     run ROUND CONFIG FILTERS pps PPS xdp_ns NS runs COUNT
#     testrun ROUND CONFIG FILTERS stats_off NS stats_on NS ret RET
set -u -o pipefail
source "$(dirname "$0")/../tests/common/netns.sh"
source "$(dirname "$0")/veth_teardown.sh"

SECPOL=$1 BLAST=$2 EMPTY=$3 SIZES=$4 SECONDS_PER_RUN=$5 ROUNDS=$6 PATTERN=$7
IFS=, read -r -a SIZE_LIST <<<"$SIZES"

id=$(printf '%04x%02x' $(($$ % 65536)) $((RANDOM % 256)))
NSA="secpol-cost-a-$id" NSB="secpol-cost-b-$id" VA="sca$id" VB="scb$id"
IPA=10.198.0.1 IPB=10.198.0.2 PORT=9999
TMP=$(mktemp -d /tmp/secpol-bench-cost.XXXXXX)
STATS0=$(cat /proc/sys/kernel/bpf_stats_enabled)

cleanup() {
    local rc=$?
    set +e
    sysctl -qw kernel.bpf_stats_enabled="$STATS0"
    veth_bench_teardown
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

inA() { nsenter --net="/run/netns/$NSA" "$@"; }
inB() { nsenter --net="/run/netns/$NSB" "$@"; }

netns_veth_pair "$NSA" "$NSB" "$VA" "$VB" "$IPA" "$IPB" || exit 1

CPUS=$(nproc)
SEND_CPU="" SINK_CPU=""
if ((CPUS >= 2)); then SEND_CPU="taskset -c $((CPUS - 1))" SINK_CPU="taskset -c 0"; fi
measure() {  # prints pps
    local out="$TMP/sink" i
    inB $SINK_CPU "$BLAST" sink "$PORT" "$((SECONDS_PER_RUN + 10))" >"$out" &
    SINK_PID=$!
    for i in $(seq 100); do grep -q ready "$out" 2>/dev/null && break; sleep 0.05; done
    inA $SEND_CPU "$BLAST" send "$IPB" "$PORT" "$SECONDS_PER_RUN" >/dev/null
    wait "$SINK_PID"
    SINK_PID=
    awk 'NR == 2 { if ($2 > 0) printf "%.0f", $1 / $2; else print 0 }' "$out"
}

# The frame the sender sends, as B's veth receives it (for the test runs).
inB timeout 5 tcpdump -q -i "$VB" -c 1 -w "$TMP/p.pcap" udp dst port "$PORT" 2>/dev/null &
sleep 1
inA "$BLAST" send "$IPB" "$PORT" 1 >/dev/null
wait
python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); open(sys.argv[2], "wb").write(d[40:])' \
    "$TMP/p.pcap" "$TMP/frame" || exit 1

xdp_id() { inB bpftool -j net show dev "$VB" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["xdp"][0]["id"])'; }
stats() { bpftool -j prog show id "$1" | python3 -c 'import json,sys; p=json.load(sys.stdin); print(p.get("run_time_ns",0), p.get("run_cnt",0))'; }
testrun() {  # ID: median over 5 test runs of 10^6 repeats, ns, and the return value
    local i
    for i in 1 2 3 4 5; do
        bpftool prog run id "$1" data_in "$TMP/frame" repeat 1000000 2>&1 |
            sed -n 's/.*Return value: \([0-9]*\), duration (average): \([0-9]*\)ns.*/\2 \1/p'
    done | sort -n | sed -n 3p
}

one() {  # CONFIG FILTERS: the program is on the veth; one run and its test runs
    local id t0 c0 t1 c1 pps off on
    id=$(xdp_id)
    sysctl -qw kernel.bpf_stats_enabled=1
    read -r t0 c0 < <(stats "$id")
    pps=$(measure)
    read -r t1 c1 < <(stats "$id")
    on=$(testrun "$id")
    sysctl -qw kernel.bpf_stats_enabled=0
    off=$(testrun "$id")
    echo "run $r $1 $2 pps $pps xdp_ns $(awk -v t=$((t1 - t0)) -v c=$((c1 - c0)) 'BEGIN { printf "%.1f", c ? t / c : 0 }') runs $((c1 - c0))"
    echo "testrun $r $1 $2 stats_off ${off% *} stats_on ${on% *} ret ${off#* }"
}

for r in $(seq "$ROUNDS"); do
    for n in 0 "${SIZE_LIST[@]}"; do
        if ((n == 0)); then
            ip -n "$NSB" link set dev "$VB" xdpdrv obj "$EMPTY" sec xdp || exit 1
            one empty-xdp 0
            ip -n "$NSB" link set dev "$VB" xdpdrv off || exit 1
        else
            inB "$SECPOL" load "${PATTERN//%N%/$n}" --dev "$VB" --local auto >/dev/null || exit 1
            one secpol "$n"
            inB "$SECPOL" unload --dev "$VB" >/dev/null || exit 1
        fi
    done
done
