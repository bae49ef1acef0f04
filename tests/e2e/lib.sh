# Helpers of the end-to-end tests: sourced by every tests/e2e/*.sh (and by
# tests/demo/run.sh). Run directly (CTest e2e.lib) it is the preflight of the
# tier: it fails loudly when the machine cannot run the tests at all.
#
# Each test gets two network namespaces joined by a veth pair, with unique
# names, removed by an EXIT/INT/TERM trap whatever happens. secpol runs in
# namespace A through `nsenter --net` (not `ip netns exec`, which remounts
# /sys and would hide the host's bpffs and the pins).

set -u -o pipefail

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$E2E_LIB_DIR/../common/netns.sh"
: "${SECPOL_SOURCE_DIR:=$(cd "$E2E_LIB_DIR/../.." && pwd)}"
: "${SECPOL:=$SECPOL_SOURCE_DIR/build/secpol}"
# Debian's interpreter: a pyenv shim takes seconds to start, and the tests
# start one per burst of packets and per JSON query.
E2E_PY=python3
[[ -x /usr/bin/python3 ]] && E2E_PY=/usr/bin/python3
E2E_PY="$E2E_PY -S"  # no site packages: halves the start time

say() { printf '[%s] %s\n' "${E2E_NAME:-e2e}" "$*"; }
fail() {
    printf '[%s] FAIL: %s\n' "${E2E_NAME:-e2e}" "$*" >&2
    exit 1
}
expect_eq() {  # ACTUAL EXPECTED WHAT
    if [[ "$1" != "$2" ]]; then fail "$3: got '$1', expected '$2'"; fi
    say "ok: $3 = $1"
}
expect_ne() {
    if [[ "$1" == "$2" ]]; then fail "$3: got '$1', expected anything else"; fi
    say "ok: $3 = $1"
}
expect_ge() {  # ACTUAL MIN WHAT
    if (($1 < $2)); then fail "$3: got $1, expected at least $2"; fi
    say "ok: $3 = $1 (>= $2)"
}

# Fails (never skips) when the tests cannot run: not root, no secpol binary,
# no bpffs, missing tools.
e2e_preflight() {
    [[ $(id -u) -eq 0 ]] || fail "e2e tests must run as root (BPF, network namespaces); got uid $(id -u)"
    [[ -x "$SECPOL" ]] || fail "secpol binary not found at '$SECPOL' (set SECPOL)"
    local t
    for t in ip tc nsenter python3 bpftool; do
        command -v "$t" >/dev/null || fail "missing tool: $t (make deps)"
    done
    if [[ $(stat -f -c %T /sys/fs/bpf 2>/dev/null) != bpf_fs ]]; then
        mount -t bpf bpf /sys/fs/bpf || fail "no bpffs at /sys/fs/bpf and mounting one failed"
    fi
    bpftool prog show >/dev/null 2>&1 || fail "BPF is unavailable (bpftool prog show failed)"
}

# e2e_setup NAME: namespaces A and B, veth vA (10.199.0.1/24) <-> vB (10.199.0.2/24).
# Quiet links: IPv6 off and static neighbours, so the only packets on the
# wire are the ones a test sends (needed to compare counters with traffic).
e2e_setup() {
    E2E_NAME=$1
    e2e_preflight
    local id
    id=$(printf '%04x%02x' $(($$ % 65536)) $((RANDOM % 256)))
    NSA="secpol-${E2E_NAME}-a-$id"
    NSB="secpol-${E2E_NAME}-b-$id"
    VA="spa$id"
    VB="spb$id"
    IPA=10.199.0.1
    IPB=10.199.0.2
    BCAST=10.199.0.255
    E2E_TMP=$(mktemp -d "/tmp/secpol-e2e-$E2E_NAME.XXXXXX")
    chmod 755 "$E2E_TMP"  # readable by the unprivileged user of the no-root case
    trap e2e_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    netns_veth_pair "$NSA" "$NSB" "$VA" "$VB" "$IPA" "$IPB" || fail "namespaces $NSA / $NSB and veth $VA <-> $VB"
    # Multicast leaves through the veth.
    ip -n "$NSA" route add 224.0.0.0/4 dev "$VA"
    ip -n "$NSB" route add 224.0.0.0/4 dev "$VB"
    say "namespaces $NSA / $NSB, veth $VA <-> $VB"
}

# e2e_bench_init NAME: the tests of secpol_bench itself (which makes its own
# namespaces): preflight, $BENCH (secpol_bench beside $SECPOL, or
# $SECPOL_BENCH), $E2E_TMP and the cleanup traps.
e2e_bench_init() {
    E2E_NAME=$1
    e2e_preflight
    BENCH=${SECPOL_BENCH:-$(dirname "$SECPOL")/secpol_bench}
    [[ -x "$BENCH" ]] || fail "secpol_bench not found at '$BENCH' (cmake --build build --target secpol_bench)"
    E2E_TMP=$(mktemp -d "/tmp/secpol-e2e-$E2E_NAME.XXXXXX")
    trap e2e_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

e2e_cleanup() {
    local rc=$?
    set +e
    if [[ -n "${E2E_PIDS:-}" ]]; then
        kill $E2E_PIDS 2>/dev/null
        # Wait for them (a daemon writes its state as it stops; slow under
        # ASan), so nothing they write lands after the cleanup below.
        local p w
        for p in $E2E_PIDS; do
            for w in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$p" 2>/dev/null
        done
    fi
    if [[ -n "${NSA:-}" && -e "/run/netns/$NSA" ]]; then
        nsenter --net="/run/netns/$NSA" "$SECPOL" unload --dev "$VA" >/dev/null 2>&1
        ip netns del "$NSA" 2>/dev/null
    fi
    [[ -n "${NSB:-}" ]] && ip netns del "$NSB" 2>/dev/null
    # Whatever a failed test left behind in the host's bpffs and run dir.
    [[ -n "${VA:-}" ]] && rm -rf "/sys/fs/bpf/secpol/$VA" "/run/secpol/$VA" "/run/secpol/$VA.lock"
    [[ -n "${E2E_TMP:-}" && -z "${E2E_KEEP:-}" ]] && rm -rf "$E2E_TMP"
    if ((rc == 0)); then say PASS; else say "FAILED (exit $rc)"; fi
    exit $rc
}

inA() { nsenter --net="/run/netns/$NSA" "$@"; }
inB() { nsenter --net="/run/netns/$NSB" "$@"; }
secpolA() { inA "$SECPOL" "$@"; }

# jget FILE PYTHON-EXPR: evaluates EXPR with d = the JSON document in FILE.
jget() { $E2E_PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# Traffic: `traffic CMD ...` runs the Python tool below in the current namespace.
#   send DST DPORT COUNT [--sport P] [--size N] [--bcast] [--pps N]   UDP; prints packets sent
#   raw DST PROTO COUNT                                                raw IP; prints packets sent
#   sink SECONDS PORT...                                               counts UDP datagrams; prints "port=count ..."
#   flood DST DPORT SECONDS [--pps N]                                  paced UDP for SECONDS; prints packets sent
read -r -d '' E2E_TRAFFIC_PY <<'PY'
import socket, sys, time, select
a = sys.argv[1:]
cmd = a.pop(0)
def opt(name, default=None, flag=False):
    if name in a:
        i = a.index(name)
        if flag:
            a.pop(i); return True
        v = a[i + 1]; del a[i:i + 2]; return v
    return False if flag else default
if cmd in ("send", "flood"):
    sport = int(opt("--sport", 0)); size = int(opt("--size", 32)); bcast = opt("--bcast", flag=True)
    pps = int(opt("--pps", 0))
    dst, dport, n = a[0], int(a[1]), float(a[2])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if bcast: s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    if sport: s.bind(("", sport))
    payload = b"\0" * 4 + b"x" * max(0, size - 4)
    sent = 0
    if cmd == "send":
        for i in range(int(n)):
            s.sendto(payload, (dst, dport)); sent += 1
            if pps: time.sleep(1.0 / pps)
    else:
        end = time.monotonic() + n; burst = 20; gap = burst / (pps or 10000)
        while time.monotonic() < end:
            t0 = time.monotonic()
            for i in range(burst):
                try:
                    s.sendto(payload, (dst, dport)); sent += 1
                except (BlockingIOError, OSError):
                    pass
            d = gap - (time.monotonic() - t0)
            if d > 0: time.sleep(d)
    print(sent)
elif cmd == "raw":
    dst, proto, n = a[0], int(a[1]), int(a[2])
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
    for i in range(n): s.sendto(b"\x10\x01\x00\x00rsvp-like", (dst, 0))
    print(n)
elif cmd == "sink":
    import signal
    def stop(*_): raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    secs = float(a[0]); socks = {}
    for p in a[1:]:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        s.bind(("", int(p))); socks[s] = [int(p), 0]
    end = time.monotonic() + secs
    print("ready", flush=True)
    try:
        while True:
            left = end - time.monotonic()
            if left <= 0: break
            r, _, _ = select.select(list(socks), [], [], left)
            for s in r:
                s.recv(65536); socks[s][1] += 1
    except KeyboardInterrupt:
        pass
    print(" ".join("%d=%d" % (p, c) for p, c in socks.values()))
PY
pyA() { inA $E2E_PY -c "$E2E_TRAFFIC_PY" "$@"; }
pyB() { inB $E2E_PY -c "$E2E_TRAFFIC_PY" "$@"; }

# Starts a UDP sink in namespace NS (A or B) in the background (at most
# SECONDS); stop_sinks ends it and its counts land in $E2E_TMP/sink.NS.
# Returns once its sockets are bound.
E2E_SINKS=""
start_sink() {  # NS SECONDS PORT...
    local ns=$1
    shift
    local out="$E2E_TMP/sink.$ns"
    local nsname=$NSA
    [[ $ns == B ]] && nsname=$NSB
    # A simple command, so $! is the sink itself (a function would add a shell in between).
    nsenter --net="/run/netns/$nsname" $E2E_PY -c "$E2E_TRAFFIC_PY" sink "$@" >"$out" &
    E2E_PIDS="${E2E_PIDS:-} $!"
    E2E_SINKS="$E2E_SINKS $!"
    local i
    for i in $(seq 100); do
        grep -q ready "$out" 2>/dev/null && return 0
        sleep 0.05
    done
    fail "sink in $ns did not start"
}
stop_sinks() {
    sleep 0.2  # let the last datagrams reach their sockets
    local p
    for p in $E2E_SINKS; do kill -TERM "$p" 2>/dev/null; done
    for p in $E2E_SINKS; do wait "$p" 2>/dev/null; done
    E2E_SINKS=""
}
sink_count() {  # NS PORT -> datagrams received (after stop_sinks)
    sed -n 's/.*\b'"$2"'=\([0-9]*\).*/\1/p' "$E2E_TMP/sink.$1" | tail -1
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    E2E_NAME=preflight
    e2e_preflight
    "$SECPOL" --version >/dev/null || fail "secpol --version failed"
    say "root, bpffs, bpftool, ip, tc, nsenter, python3 and $SECPOL are usable"
fi
