#!/usr/bin/env bash
# interop.ike_esp — real IKEv2 + ESP (strongSwan charon) between two
# namespaces, with secpol on one end enforcing "only IPsec to the peer".
#
#   A (peer, no secpol)                         B (secpol on vethB)
#   inner 10.201.1.1/32 on lo                   inner 10.201.2.1/32 on lo
#   vethA 10.201.0.1/24  ------------------------  vethB 10.201.0.2/24
#
# The CHILD SA protects inner<->inner in tunnel mode between the veth
# addresses. Where the kernel has no ESP (this machine), charon's
# kernel-libipsec does ESP in user space: cleartext goes into a TUN device
# (ipsec0), charon encrypts it and sends ESP-in-UDP 4500 out of the veth. So
# secpol, on the veth, sees only the outer packets while the SA is up — the
# cleartext never touches the veth — and sees the cleartext itself when the SA
# is down (static routes then send inner traffic straight over the veth).
source "$(dirname "$0")/lib.sh"
trap cleanup EXIT INT TERM

require_root
require_tools ip nsenter unshare jq "$PYTHON" ping swanctl "$CHARON"
require_secpol

A=${TAG}iA B=${TAG}iB VA=${TAG}va VB=${TAG}vb
A_OUT=10.201.0.1 B_OUT=10.201.0.2 A_IN=10.201.1.1 B_IN=10.201.2.1

log "namespaces $A and $B"
ns_new "$A"
ns_new "$B"
veth "$A" "$VA" "$A_OUT/24" "$B" "$VB" "$B_OUT/24"
ip -n "$A" addr add "$A_IN/32" dev lo
ip -n "$B" addr add "$B_IN/32" dev lo
# Without an SA the inner traffic still has a route: over the veth, in clear.
ip -n "$A" route add "$B_IN/32" via "$B_OUT"
ip -n "$B" route add "$A_IN/32" via "$A_OUT"

BACKEND=$(esp_backend)
log "ESP backend: $BACKEND"
charon_start a "$A" "$BACKEND" "$A_OUT" "$B_OUT" "$A_IN/32" "$B_IN/32"
charon_start b "$B" "$BACKEND" "$B_OUT" "$A_OUT" "$B_IN/32" "$A_IN/32"

ping_inner() { # FROM_NS SRC DST
	ip netns exec "$1" ping -n -q -c 3 -i 0.2 -W 1 -I "$2" "$3"
}
snap() { counters "$B" "$VB" "$WORK/$1.json"; }
d() { # delta of a rule counter between two snapshots: BEFORE AFTER LABEL DIR [VERDICT]
	echo $(($(rule_pkts "$WORK/$2.json" "$3" "$4" "${5:-}") - $(rule_pkts "$WORK/$1.json" "$3" "$4" "${5:-}")))
}
dx() { # delta of an exemption counter: BEFORE AFTER NAME DIR
	echo $(($(exempt_pkts "$WORK/$2.json" "$3" "$4") - $(exempt_pkts "$WORK/$1.json" "$3" "$4")))
}

# ---------------------------------------------------------------------------
log "1. policy $POLICY_DIR/ike_esp.pol on $B/$VB; IKE + CHILD SA up, traffic as ESP"
secpol_load "$B" "$VB" "$POLICY_DIR/ike_esp.pol"
snap p1.0
# B initiates: its IKE_SA_INIT leaves through secpol's egress hook (exempt,
# 500<->500), IKE_AUTH follows on 4500 (the explicit permit).
expect_ok "IKE_SA + CHILD_SA from B (behind secpol)" swan b --initiate --child inner --timeout 15
state=$(sa_state b)
note "B: $state"
[ "$state" = "IKE=ESTABLISHED CHILD=INSTALLED" ] || die "SAs not up: $state"
expect_ok "ping $B_IN -> $A_IN over the CHILD SA" ping_inner "$B" "$B_IN" "$A_IN"
expect_ok "ping $A_IN -> $B_IN over the CHILD SA" ping_inner "$A" "$A_IN" "$B_IN"
snap p1.1
show_counters "phase 1 (SA up)" "$WORK/p1.1.json"
# Each ping is 3 requests + 3 replies, each way: >= 6 ESP packets in, >= 6 out.
assert_ge "peer-esp in protected" "$(d p1.0 p1.1 peer-esp in protected)" 6
assert_ge "peer-esp out protected" "$(d p1.0 p1.1 peer-esp out protected)" 6
assert_ge "ike exemption (IKE_SA_INIT, 500) out" "$(dx p1.0 p1.1 ike out)" 1
assert_ge "ike exemption (IKE_SA_INIT, 500) in" "$(dx p1.0 p1.1 ike in)" 1
if [ "$BACKEND" = libipsec ]; then
	assert_ge "ike-nat-t permit (IKE_AUTH, 4500) out" "$(d p1.0 p1.1 ike-nat-t out permit)" 1
	assert_ge "ike-nat-t permit (IKE_AUTH, 4500) in" "$(d p1.0 p1.1 ike-nat-t in permit)" 1
fi
assert_eq "inner (cleartext) seen on the veth while the SA is up" \
	"$(($(d p1.0 p1.1 inner in) + $(d p1.0 p1.1 inner out)))" 0
assert_ge "ipsec (protected form) packets" \
	"$(($(top_pkts "$WORK/p1.1.json" ipsec) - $(top_pkts "$WORK/p1.0.json" ipsec)))" 12

# ---------------------------------------------------------------------------
log "2. connection down: the same cleartext is blocked in (unsecured) and out (leak)"
expect_ok "terminate the IKE SA" swan a --terminate --ike interop --timeout 10
wait_for 5 sh -c "[ \"\$(ip -n $B route show table 220 | wc -l)\" = 0 ]" || true
note "B: $(sa_state b)"
snap p2.0
expect_fail "ping $A_IN -> $B_IN in clear (B drops it inbound)" ping_inner "$A" "$A_IN" "$B_IN"
snap p2.1
expect_fail "ping $B_IN -> $A_IN in clear (B drops it outbound)" ping_inner "$B" "$B_IN" "$A_IN"
snap p2.2
show_counters "phase 2 (SA down)" "$WORK/p2.2.json"
assert_ge "inner in block (unsecured inbound)" "$(d p2.0 p2.1 inner in block)" 3
assert_eq "inner out during the inbound ping (no reply left B)" "$(d p2.0 p2.1 inner out)" 0
assert_ge "inner out block (leak)" "$(d p2.1 p2.2 inner out block)" 3

# ---------------------------------------------------------------------------
log "3. exemptions none and no IKE permit: negotiation fails; secpol check warned"
if "$SECPOL" check "$POLICY_DIR/ike_esp_none.pol" >"$WORK/check.out" 2>&1; then :; fi
sed 's/^/   check: /' "$WORK/check.out"
grep -qi 'warn' "$WORK/check.out" || die "secpol check gave no warning for ike_esp_none.pol"
grep -qiE 'ike|500' "$WORK/check.out" || die "secpol check's warning does not mention IKE"
secpol_load "$B" "$VB" "$POLICY_DIR/ike_esp_none.pol"
snap p3.0
expect_fail "IKE from B (its IKE_SA_INIT is blocked on the way out)" swan b --initiate --child inner --timeout 8
expect_fail "IKE from A (B drops the IKE_SA_INIT inbound)" swan a --initiate --child inner --timeout 8
snap p3.1
show_counters "phase 3 (exemptions none)" "$WORK/p3.1.json"
note "B: $(sa_state b)"
ex() { top_pkts "$WORK/$1.json" default "$2"; }
assert_ge "default out (B's IKE_SA_INIT, blocked)" $(($(ex p3.1 out) - $(ex p3.0 out))) 1
assert_ge "default in (A's IKE_SA_INIT, blocked)" $(($(ex p3.1 in) - $(ex p3.0 in))) 1
swan a --terminate --ike interop --timeout 3 >/dev/null 2>&1 || true
swan b --terminate --ike interop --timeout 3 >/dev/null 2>&1 || true

# ---------------------------------------------------------------------------
log "4. secure fallback-clear: no SA, outbound falls back to clear, inbound clear still blocked"
secpol_load "$B" "$VB" "$POLICY_DIR/ike_esp_fallback.pol"
snap p4.0
udp_listen "$A" "$A_IN" 7777 "$WORK/fallback.rcv"
sleep 0.5
udp_send "$B" "$B_IN" "$A_IN" 7777 "fallback-to-clear"
wait_for 5 test -s "$WORK/fallback.rcv" || die "datagram B->A did not arrive in clear under fallback-clear"
note "ok: A received '$(cat "$WORK/fallback.rcv")' in clear"
expect_fail "ping $A_IN -> $B_IN (inbound clear, no accept-clear)" ping_inner "$A" "$A_IN" "$B_IN"
snap p4.1
show_counters "phase 4 (fallback-clear)" "$WORK/p4.1.json"
assert_ge "inner-fallback out permit (clear fallback)" "$(d p4.0 p4.1 inner-fallback out permit)" 1
assert_ge "inner-fallback in block (clear inbound)" "$(d p4.0 p4.1 inner-fallback in block)" 3
# And the SA still wins when it can be had: with it up the same traffic is ESP.
expect_ok "IKE_SA + CHILD_SA again under the fallback policy" swan b --initiate --child inner --timeout 15
expect_ok "ping $B_IN -> $A_IN over the CHILD SA" ping_inner "$B" "$B_IN" "$A_IN"
snap p4.2
assert_ge "peer-esp out protected under fallback policy" "$(d p4.1 p4.2 peer-esp out protected)" 3
assert_eq "inner-fallback out while the SA is up" "$(d p4.1 p4.2 inner-fallback out)" 0
show_counters "phase 4 (fallback-clear, SA up again)" "$WORK/p4.2.json"
