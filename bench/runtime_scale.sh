# Runtime cost of a large loaded policy (issue 12 item 19): load (wall time
# and peak RSS), status, counters --json, and the size of the state files,
# for a generated policy of N filters (default 100,000) on a veth pair in
# throwaway namespaces. Run as root under the netns lock:
#   flock /tmp/secpol-netns.lock bash bench/runtime_scale.sh [N]
# PERF=FILE also records a perf profile of counters --json.
# Prints one line per figure; docs/performance.md records a run.
set -u -o pipefail
source "$(dirname "$0")/../tests/common/netns.sh"
N=${1:-100000}
SECPOL=${SECPOL:-$(cd "$(dirname "$0")/.." && pwd)/build/secpol}
id=$(printf '%04x' $(($$ % 65536)))
NSA=secpol-scale-a-$id NSB=secpol-scale-b-$id VA=ssa$id VB=ssb$id
TMP=$(mktemp -d /tmp/secpol-scale.XXXXXX)
cleanup() {
    nsenter --net=/run/netns/$NSA "$SECPOL" unload --dev $VA >/dev/null 2>&1
    ip netns del $NSA 2>/dev/null
    ip netns del $NSB 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
netns_veth_pair $NSA $NSB $VA $VB 10.198.0.1 10.198.0.2 || exit 1
python3 - "$N" >"$TMP/p.pol" <<'PY'
import sys
n = int(sys.argv[1])
print('policy "scale %d"\nexemptions windows2000\ndefault permit' % n)
for i in range(n):
    proto = "udp" if i % 2 else "tcp"
    print('block proto %s from 10.%d.%d.%d to me port %d "r%d"' % (proto, (i >> 16) & 255, (i >> 8) & 255, i & 255, 1024 + i % 50000, i))
PY
t() {  # LABEL CMD...: wall seconds and peak RSS of CMD
    local label=$1
    shift
    /usr/bin/time -f "%e %U %S %M" -o "$TMP/time" "$@" >"$TMP/out" 2>"$TMP/err" || { echo "$label: FAILED: $(tail -2 "$TMP/err")"; exit 1; }
    read -r s u sy kb <"$TMP/time"
    # CPU time as well: on a shared machine the wall time measures the neighbours too.
    printf '%-22s %8.2f s wall %8.2f s cpu  %6d MiB peak RSS\n' "$label" "$s" "$(echo "$u + $sy" | bc)" "$((kb / 1024))"
}
echo "filters: $N"
t "load" nsenter --net=/run/netns/$NSA "$SECPOL" load "$TMP/p.pol" --dev $VA
t "status" nsenter --net=/run/netns/$NSA "$SECPOL" status
t "status --json" nsenter --net=/run/netns/$NSA "$SECPOL" status --json
t "counters --json" nsenter --net=/run/netns/$NSA "$SECPOL" counters --dev $VA --json
t "counters (table)" nsenter --net=/run/netns/$NSA "$SECPOL" counters --dev $VA
[[ -n ${PERF:-} ]] && nsenter --net=/run/netns/$NSA perf record -g -o "$PERF" "$SECPOL" counters --dev $VA --json >/dev/null 2>&1
t "load (swap)" nsenter --net=/run/netns/$NSA "$SECPOL" load "$TMP/p.pol" --dev $VA
for f in /run/secpol/$VA/*; do printf '%-22s %8.1f MiB\n' "$(basename "$f")" "$(echo "scale=1; $(stat -c %s "$f") / 1048576" | bc)"; done
