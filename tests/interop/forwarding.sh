#!/usr/bin/env bash
# interop.forwarding — KB253169's note on routers: "If Kerberos, IKE, or RSVP
# packets are received on one adapter and routed out of another adapter ...
# the tunnel filters will apply". A router R with secpol on its A-side
# interface and a tunnel filter between A-net and B-net:
#   - IKE/Kerberos/RSVP routed through R between A and B are NOT exempt: the
#     tunnel filter sees them in clear and drops them (both directions);
#   - the same packets to or from R itself ARE exempt and get through.
#
#   A 10.204.1.1 ---- 10.204.1.254 [R, secpol on rA] 10.204.2.254 ---- B 10.204.2.1
source "$(dirname "$0")/lib.sh"
trap cleanup EXIT INT TERM

require_root
require_tools ip nsenter jq "$PYTHON"
require_secpol

A=${TAG}fA R=${TAG}fR B=${TAG}fB
VA=${TAG}fa VRA=${TAG}fra VRB=${TAG}frb VB=${TAG}fb
A_ADDR=10.204.1.1 RA=10.204.1.254 RB=10.204.2.254 B_ADDR=10.204.2.1

log "namespaces $A - $R - $B"
ns_new "$A"
ns_new "$R"
ns_new "$B"
veth "$A" "$VA" "$A_ADDR/24" "$R" "$VRA" "$RA/24"
veth "$B" "$VB" "$B_ADDR/24" "$R" "$VRB" "$RB/24"
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
ip -n "$A" route add default via "$RA"
ip -n "$B" route add default via "$RB"
xsink "$A"
xsink "$R"
xsink "$B"
sleep 0.5

KINDS="ike krb rsvp"
log "baseline without secpol: every kind reaches B through R"
for k in $KINDS; do xsend "$A" "$k" "$A_ADDR" "$B_ADDR"; done
sleep 0.5
for k in $KINDS; do assert_eq "$k A->B arrived (no secpol)" "$(xgot "$B" "$k" "$A_ADDR")" 1; done

log "policy $POLICY_DIR/forwarding.pol on $R/$VRA"
secpol_load "$R" "$VRA" "$POLICY_DIR/forwarding.pol"
counters "$R" "$VRA" "$WORK/c0.json"

log "routed through R (A<->B): the tunnel filter applies, no exemption"
for k in $KINDS; do
	xsend "$A" "$k" "$A_ADDR" "$B_ADDR" # arrives on rA: XDP ingress, transit
	xsend "$B" "$k" "$B_ADDR" "$A_ADDR" # leaves by rA: tc egress, transit
done
sleep 0.5
counters "$R" "$VRA" "$WORK/c1.json"
show_counters "routed A<->B" "$WORK/c1.json"
for k in $KINDS; do
	assert_eq "$k A->B arrivals at B, still only the baseline one" "$(xgot "$B" "$k" "$A_ADDR")" 1
	assert_eq "$k B->A arrived with secpol" "$(xgot "$A" "$k" "$B_ADDR")" 0
done
delta() { echo $(($(rule_pkts "$WORK/$2.json" a-b-tunnel "$3" block) - $(rule_pkts "$WORK/$1.json" a-b-tunnel "$3" block))); }
xdelta() { echo $(($(exempt_pkts "$WORK/$2.json" "$3" "$4") - $(exempt_pkts "$WORK/$1.json" "$3" "$4"))); }
assert_eq "a-b-tunnel in block (A->B ike, krb, rsvp)" "$(delta c0 c1 in)" 3
assert_eq "a-b-tunnel out block (B->A ike, krb, rsvp)" "$(delta c0 c1 out)" 3
for x in ike kerberos rsvp; do
	assert_eq "$x exemption for routed packets" $(($(xdelta c0 c1 $x in) + $(xdelta c0 c1 $x out))) 0
done

log "to and from R itself: exempt"
for k in $KINDS; do
	xsend "$A" "$k" "$A_ADDR" "$RA" # in on rA, destination local
	xsend "$R" "$k" "$RA" "$A_ADDR" # out of rA, source local
done
sleep 0.5
counters "$R" "$VRA" "$WORK/c2.json"
show_counters "to/from R" "$WORK/c2.json"
for k in $KINDS; do
	assert_eq "$k A->R arrived" "$(xgot "$R" "$k" "$A_ADDR")" 1
	assert_eq "$k R->A arrived" "$(xgot "$A" "$k" "$RA")" 1
done
for x in ike kerberos rsvp; do
	assert_eq "$x exemption in (A->R)" "$(xdelta c1 c2 $x in)" 1
	assert_eq "$x exemption out (R->A)" "$(xdelta c1 c2 $x out)" 1
done
assert_eq "a-b-tunnel for packets to/from R" $(($(delta c1 c2 in) + $(delta c1 c2 out))) 0
