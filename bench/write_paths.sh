#!/usr/bin/env bash
# The write paths of a big policy, timed (docs/performance.md, "Write paths
# at 100,000 rules"): a first load, a swap to a second object (counters and
# log buckets carried over), `secpol log` starting, a swap back, an unload,
# each under /usr/bin/time -v, on a veth in throwaway namespaces
# (tests/e2e/lib.sh). Leaves OUTDIR/NAME.{time,out,err} and the state files
# after the swap back. Run as root under the netns lock:
#   flock /tmp/secpol-netns.lock bash bench/write_paths.sh build/secpol OUTDIR A.o B.o
set -u
SECPOL_UNDER_TEST=$(realpath "$1") OUT=$2 A=$(realpath "$3") B=$(realpath "$4")
source "$(dirname "$0")/../tests/e2e/lib.sh"
SECPOL=$SECPOL_UNDER_TEST
e2e_setup write_paths
mkdir -p "$OUT"
timed() {  # NAME ARGS...: secpol ARGS in namespace A, timed
    local name=$1
    shift
    /usr/bin/time -v -o "$OUT/$name.time" nsenter --net="/run/netns/$NSA" "$SECPOL" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
    local rc=$?
    say "$name: exit $rc, $(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} /Elapsed/ {w=$2} /Maximum resident/ {r=$2} END {printf "wall %s, user %s s, sys %s s, peak RSS %d MiB", w, u, s, r/1024}' "$OUT/$name.time")"
    ((rc == 0)) || fail "secpol $*: $(cat "$OUT/$name.err")"
}
timed load load "$A" --dev "$VA" --local auto
pyB send $IPA 7001 3 >/dev/null
timed swap load "$B" --dev "$VA" --local auto
timed log log --dev "$VA" --timeout 0.1
timed swapback load "$A" --dev "$VA" --local auto
inA "$SECPOL" counters --dev "$VA" --json >"$OUT/counters.json"
cp "${SECPOL_RUN_DIR:-/run/secpol}/$VA"/{meta.json,state.json,policy.pol} "$OUT/"
timed unload unload --dev "$VA"
