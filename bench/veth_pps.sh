#!/usr/bin/env bash
# Real traffic through a veth pair between two throwaway network namespaces:
# UDP packets per second received by a sink in namespace B with no program,
# with an empty XDP program on B's veth (XDP on a veth switches its receive
# path to NAPI, a cost of its own), with secpol loaded on B's veth (XDP
# ingress + tc egress, `secpol load`), and
# with an nftables ruleset of the same filters in B. Configurations alternate
# round by round, and every secpol run lies between two empty-XDP runs whose
# pps it records (empty_before, empty_after): the caller reports the median
# over rounds of secpol ÷ the mean of its two neighbours, so a slow drift of
# the machine cancels instead of landing on one configuration (absolute pps
# depend on the machine and on whatever else runs on its cores). On a
# machine with two or more CPUs the sender (whose CPU also runs the veth's
# NAPI poll, and so the XDP program) and the sink are pinned to different
# CPUs, so the scheduler moving them is not part of the figure. Also times
# `secpol load` on a fresh interface and again on the loaded one (the atomic
# swap).
#
#   veth_pps.sh SECPOL BLAST EMPTY_XDP_OBJ DIR SIZES SECONDS ROUNDS OUT.json
#     DIR holds policy-N.o (secpol compile output) and nft-N.nft for each N
#     of SIZES (comma-separated). Every address used lives in the two
#     namespaces, which the EXIT trap removes whatever happens.
set -u -o pipefail
source "$(dirname "$0")/../tests/common/netns.sh"
source "$(dirname "$0")/veth_teardown.sh"

SECPOL=$1 BLAST=$2 EMPTY=$3 DIR=$4 SIZES=$5 SECONDS_PER_RUN=$6 ROUNDS=$7 OUT=$8
IFS=, read -r -a SIZE_LIST <<<"$SIZES"

id=$(printf '%04x%02x' $(($$ % 65536)) $((RANDOM % 256)))
NSA="secpol-bench-a-$id" NSB="secpol-bench-b-$id" VA="sba$id" VB="sbb$id"
IPA=10.198.0.1 IPB=10.198.0.2 PORT=9999
TMP=$(mktemp -d /tmp/secpol-bench-veth.XXXXXX)

cleanup() {
    local rc=$?
    set +e
    veth_bench_teardown
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

inA() { nsenter --net="/run/netns/$NSA" "$@"; }
inB() { nsenter --net="/run/netns/$NSB" "$@"; }
now_ns() { date +%s%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }

netns_veth_pair "$NSA" "$NSB" "$VA" "$VB" "$IPA" "$IPB" || exit 1

# One run: a sink in B, the sender in A for SECONDS_PER_RUN; prints pps.
CPUS=$(nproc)
SEND_CPU="" SINK_CPU=""
if ((CPUS >= 2)); then SEND_CPU="taskset -c $((CPUS - 1))" SINK_CPU="taskset -c 0"; fi
measure() {
    local out="$TMP/sink" i
    inB $SINK_CPU "$BLAST" sink "$PORT" "$((SECONDS_PER_RUN + 10))" >"$out" &
    SINK_PID=$!
    for i in $(seq 100); do grep -q ready "$out" 2>/dev/null && break; sleep 0.05; done
    inA $SEND_CPU "$BLAST" send "$IPB" "$PORT" "$SECONDS_PER_RUN" >/dev/null
    wait "$SINK_PID"
    SINK_PID=
    awk 'NR == 2 { if ($2 > 0) printf "%.0f", $1 / $2; else print 0 }' "$out"
}

empty_on() { ip -n "$NSB" link set dev "$VB" xdpdrv obj "$EMPTY" sec xdp || exit 1; }
empty_off() { ip -n "$NSB" link set dev "$VB" xdpdrv off || exit 1; }
secpol_on() { inB "$SECPOL" load "$DIR/policy-$1.o" --dev "$VB" --local auto >/dev/null || exit 1; }
secpol_off() { inB "$SECPOL" unload --dev "$VB" >/dev/null || exit 1; }
nft_on() { inB nft -f "$DIR/nft-$1.nft" || exit 1; }
nft_off() { inB nft delete table inet secpol_bench || exit 1; }

{
    echo '{"seconds": '"$SECONDS_PER_RUN"', "rounds": '"$ROUNDS"', "load": ['
    sep=""
    for n in "${SIZE_LIST[@]}"; do
        t0=$(now_ns); secpol_on "$n"; t1=$(now_ns); secpol_on "$n"; t2=$(now_ns); secpol_off
        printf '%s{"filters": %s, "load_ms": %s, "swap_ms": %s}' "$sep" "$n" "$(ms "$t0" "$t1")" "$(ms "$t1" "$t2")"
        sep=", "
        t0=$(now_ns); nft_on "$n"; t1=$(now_ns); nft_off
        printf '%s{"filters": %s, "nft_load_ms": %s}' "$sep" "$n" "$(ms "$t0" "$t1")"
    done
    echo '], "runs": ['
    sep=""
    empty_run() {  # prints the run's entry; leaves its pps in EMPTY_PPS
        empty_on
        EMPTY_PPS=$(measure)
        empty_off
        printf '%s{"config": "empty-xdp", "filters": 0, "round": %d, "pps": %s}' "$sep" "$r" "$EMPTY_PPS"
    }
    for r in $(seq "$ROUNDS"); do
        printf '%s{"config": "none", "filters": 0, "round": %d, "pps": %s}' "$sep" "$r" "$(measure)"
        sep=$',\n'
        empty_run
        for n in "${SIZE_LIST[@]}"; do
            before=$EMPTY_PPS
            secpol_on "$n"
            pps=$(measure)
            secpol_off
            empty_run
            printf '%s{"config": "secpol", "filters": %s, "round": %d, "pps": %s, "empty_before": %s, "empty_after": %s}' \
                "$sep" "$n" "$r" "$pps" "$before" "$EMPTY_PPS"
        done
        for n in "${SIZE_LIST[@]}"; do
            nft_on "$n"
            printf '%s{"config": "nftables", "filters": %s, "round": %d, "pps": %s}' "$sep" "$n" "$r" "$(measure)"
            nft_off
        done
        echo "veth round $r/$ROUNDS done" >&2
    done
    echo ']}'
} >"$OUT"
