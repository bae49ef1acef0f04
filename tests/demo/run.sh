# make demo: a throwaway pair of network namespaces joined by a veth link,
# the default policy on one end, real traffic both ways, the counters table,
# and everything removed again, even on failure or Ctrl-C.
#   usage: bash tests/demo/run.sh [path/to/secpol] [policy]
set -u
DEMO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SECPOL_SOURCE_DIR=$(cd "$DEMO_DIR/../.." && pwd)
SECPOL=$(realpath "${1:-$SECPOL_SOURCE_DIR/build/secpol}")
POLICY=${2:-$SECPOL_SOURCE_DIR/policies/secure-server-require-security.pol}
export SECPOL SECPOL_SOURCE_DIR
source "$SECPOL_SOURCE_DIR/tests/e2e/lib.sh"
[[ -f $POLICY ]] || fail "policy $POLICY not found"

e2e_setup demo
say "host A = $IPA ($VA in $NSA), host B = $IPB ($VB in $NSB)"
say "policy: $POLICY"
# The limited broadcast (255.255.255.255) needs a route out of the veth.
ip -n "$NSA" route add 255.255.255.255/32 dev "$VA"
ip -n "$NSB" route add 255.255.255.255/32 dev "$VB"
secpolA load "$POLICY" --dev "$VA" || fail "load"
secpolA status || fail "status"

say "sending traffic across the veth, both ways"
start_sink A 60 500 88 4500 7000
start_sink B 60 500 88 4500 7001
for dir in AB BA; do
    if [[ $dir == AB ]]; then py=pyA dst=$IPB; else py=pyB dst=$IPA; fi
    $py send "$dst" 500 3 --sport 500 >/dev/null                  # IKE: UDP 500 <-> 500
    $py send "$dst" 4500 2 --sport 4500 >/dev/null                # IKE on 4500: not exempt under windows2000
    $py send "$dst" 88 3 >/dev/null                               # Kerberos over UDP
    $py send 224.0.0.251 5353 3 >/dev/null                        # multicast (mDNS group)
    $py send "$BCAST" 9999 3 --bcast >/dev/null                   # directed broadcast
    $py send 255.255.255.255 67 2 --sport 68 --bcast >/dev/null   # limited broadcast (DHCP-like)
    $py raw "$dst" 46 2 >/dev/null                                # RSVP (IP protocol 46)
    $py send "$dst" 7000 5 >/dev/null                             # clear UDP: must be protected -> blocked
done
# Kerberos over TCP (exempt both ways: SYN to 88, RST/SYN-ACK from 88) and a
# clear TCP connection the policy blocks.
inB timeout 2 bash -c "exec 3<>/dev/tcp/$IPA/88" 2>/dev/null
inB timeout 2 bash -c "exec 3<>/dev/tcp/$IPA/22" 2>/dev/null && fail "TCP 22 got through a Require Security policy"
inA timeout 2 bash -c "exec 3<>/dev/tcp/$IPB/80" 2>/dev/null && fail "TCP 80 got through a Require Security policy"
inB ping -c 3 -i 0.2 -W 1 "$IPA" >/dev/null || say "note: ping B -> A got no answer"
inA ping -c 3 -i 0.2 -W 1 "$IPB" >/dev/null || say "note: ping A -> B got no answer"
stop_sinks
say "UDP datagrams received by A: $(tail -1 "$E2E_TMP/sink.A"); by B: $(tail -1 "$E2E_TMP/sink.B")"

echo
secpolA counters --dev "$VA" || fail "counters"
echo
secpolA counters --dev "$VA" --json >"$E2E_TMP/c.json" || fail "counters --json"
# Every exemption of the policy counted something, and clear traffic was blocked.
$E2E_PY - "$E2E_TMP/c.json" <<'PY' || fail "the counters do not show what the demo sent"
import json, sys
d = json.load(open(sys.argv[1]))
bad = [n for n, c in d["exemptions"].items() if c["in"]["packets"] + c["out"]["packets"] == 0]
blocked = sum(r[x]["block"]["packets"] for r in d["rules"] for x in ("in", "out"))
print("[demo] exemptions counted: " + ", ".join("%s %d/%d" % (n, c["in"]["packets"], c["out"]["packets"])
                                                for n, c in d["exemptions"].items()))
print("[demo] packets blocked by filters: %d" % blocked)
if bad: print("[demo] exemptions with no packets: " + ", ".join(bad))
sys.exit(1 if bad or blocked == 0 else 0)
PY
secpolA unload --dev "$VA" || fail "unload"
say "demo done; the trap removes the namespaces"
