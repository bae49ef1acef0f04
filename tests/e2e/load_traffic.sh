# Load a policy, send real traffic both ways across the veth, and check that
# every counter says exactly what was sent, and that blocked traffic never
# reached its socket.
source "$(dirname "$0")/lib.sh"
e2e_setup load

cat >"$E2E_TMP/p.pol" <<'POL'
policy "e2e load"
exemptions windows2000
default block
permit proto udp from any to me port 7000 "udp-in"
permit proto udp from me to any port 7001 "udp-out"
block proto udp from any to me port 7002 "udp-blocked"
permit proto icmp from any to any "icmp"
POL

secpolA load "$E2E_TMP/p.pol" --dev "$VA" || fail "load"
secpolA status --dev "$VA" --json >"$E2E_TMP/status.json" || fail "status"
expect_eq "$(jget "$E2E_TMP/status.json" 'd["interfaces"][0]["policy"]')" "e2e load" "status policy label"
expect_eq "$(jget "$E2E_TMP/status.json" 'd["interfaces"][0]["xdp"]["attached"]')" True "status xdp attached"
expect_eq "$(jget "$E2E_TMP/status.json" 'd["interfaces"][0]["tc"]["attached"]')" True "status tc attached"
xdp_id=$(jget "$E2E_TMP/status.json" 'd["interfaces"][0]["xdp"]["prog_id"]')
expect_eq "$(ip -n "$NSA" -d link show "$VA" | grep -o "prog/xdp id [0-9]*" | awk '{print $3}')" "$xdp_id" "ip link shows our XDP program"
tc -n "$NSA" filter show dev "$VA" egress | grep -q secpol_egress || fail "tc egress filter missing"

start_sink A 20 7000 7002 500 88
start_sink B 20 7001 500 88

pyB send $IPA 7000 10 >/dev/null
pyB send $IPA 7002 7 >/dev/null
pyA send $IPB 7001 6 >/dev/null
pyB send $IPA 500 4 --sport 500 >/dev/null
pyA send $IPB 500 3 --sport 500 >/dev/null
pyB send $IPA 88 5 >/dev/null
pyA send $BCAST 9999 3 --bcast >/dev/null
pyA send 224.0.0.251 5353 2 >/dev/null
pyB send 224.0.0.251 5353 2 >/dev/null
pyB raw $IPA 46 2 >/dev/null
pyB send $IPA 7003 3 >/dev/null
inB ping -c 3 -i 0.2 -W 1 "$IPA" >/dev/null || fail "ping B -> A (icmp is permitted)"

stop_sinks
expect_eq "$(sink_count A 7000)" 10 "datagrams received on permitted port 7000"
expect_eq "$(sink_count A 7002)" 0 "datagrams received on blocked port 7002"
expect_eq "$(sink_count B 7001)" 6 "datagrams received by B on 7001"

secpolA counters --dev "$VA" --json >"$E2E_TMP/c.json" || fail "counters --json"
secpolA counters --dev "$VA" || fail "counters table"
rule() { jget "$E2E_TMP/c.json" "[r for r in d['rules'] if r['label']=='$1'][0]$2"; }
expect_eq "$(rule udp-in "['in']['permit']['packets']")" 10 "udp-in in/permit"
expect_eq "$(rule udp-in "['in']['packets']")" 10 "udp-in in packets"
expect_eq "$(rule udp-in "['in']['bytes']")" $((10 * (14 + 20 + 8 + 32))) "udp-in in bytes"
expect_eq "$(rule udp-blocked "['in']['block']['packets']")" 7 "udp-blocked in/block"
expect_eq "$(rule udp-out "['out']['permit']['packets']")" 6 "udp-out out/permit"
expect_eq "$(rule udp-out "['in']['packets']")" 0 "udp-out in"
expect_ge "$(rule icmp "['in']['permit']['packets']")" 3 "icmp in/permit"
expect_ge "$(rule icmp "['out']['permit']['packets']")" 3 "icmp out/permit"
ex() { jget "$E2E_TMP/c.json" "d['exemptions']['$1']['$2']['packets']"; }
expect_eq "$(ex ike in)" 4 "exemption ike in"
expect_eq "$(ex ike out)" 3 "exemption ike out"
expect_eq "$(ex kerberos in)" 5 "exemption kerberos in"
expect_eq "$(ex broadcast out)" 3 "exemption broadcast out"
expect_eq "$(ex multicast out)" 2 "exemption multicast out"
expect_eq "$(ex multicast in)" 2 "exemption multicast in"
expect_eq "$(ex rsvp in)" 2 "exemption rsvp in"
expect_eq "$(jget "$E2E_TMP/c.json" "d['default']['in']['packets']")" 3 "default (block) in"
expect_eq "$(jget "$E2E_TMP/c.json" "d['malformed']['in']['packets']")" 0 "malformed in"

# --reset: everything reads zero afterwards, without touching the kernel's counters.
secpolA counters --dev "$VA" --reset || fail "counters --reset"
secpolA counters --dev "$VA" --json >"$E2E_TMP/c2.json" || fail "counters after reset"
expect_eq "$(jget "$E2E_TMP/c2.json" "d['total']['in']['packets'] + d['total']['out']['packets']")" 0 "total after reset"
pyB send $IPA 7000 4 >/dev/null
secpolA counters --dev "$VA" --json >"$E2E_TMP/c3.json" || fail "counters after reset"
expect_eq "$(jget "$E2E_TMP/c3.json" "[r for r in d['rules'] if r['label']=='udp-in'][0]['in']['packets']")" 4 "udp-in counts again after reset"
