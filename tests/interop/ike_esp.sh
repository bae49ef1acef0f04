#!/usr/bin/env bash
# interop.ike_esp — real IKEv2 + ESP (strongSwan charon) between two gateways,
# each configured from ONE policy file: `secpol load POLICY` is its packet
# filter and `secpol export swanctl POLICY` its strongSwan configuration (no
# hand-written connection or secrets file).
#
#   HA 10.201.1.1 -- GA 10.201.1.254 | 10.201.0.1 ==veth== 10.201.0.2 | 10.201.2.254 GB -- HB 10.201.2.1
#                     secpol on GA's veth (ike_esp_a.pol)   secpol on GB's veth (ike_esp.pol)
#
# The secure filter is a tunnel filter ("from 10.201.2.0/24 to 10.201.1.0/24
# mirrored tunnel 10.201.0.1"), exported as a tunnel-mode child with
# start_action = trap. Where the kernel has no ESP (this machine), charon's
# kernel-libipsec does ESP in user space — tunnel mode only, over UDP 4500
# (the action's nat-t): routed cleartext goes into a TUN device (ipsec0),
# charon encrypts it and sends ESP-in-UDP out of the veth. So secpol, on the
# veth, sees only the outer packets while the SA is up and the cleartext
# itself when the SA and its trap are gone (static routes then send the
# subnets' traffic straight over the veth).
source "$(dirname "$0")/lib.sh"
trap cleanup EXIT INT TERM

require_root
require_tools ip nsenter unshare jq "$PYTHON" ping swanctl "$CHARON"
require_secpol

HA=${TAG}hA GA=${TAG}gA GB=${TAG}gB HB=${TAG}hB
VA=${TAG}va VB=${TAG}vb
A_OUT=10.201.0.1 B_OUT=10.201.0.2 HA_IP=10.201.1.1 HB_IP=10.201.2.1

log "namespaces $HA - $GA = $GB - $HB"
for ns in "$HA" "$GA" "$GB" "$HB"; do ns_new "$ns"; done
veth "$GA" "$VA" "$A_OUT/24" "$GB" "$VB" "$B_OUT/24"
veth "$HA" "${TAG}ha" "$HA_IP/24" "$GA" "${TAG}ga" 10.201.1.254/24
veth "$GB" "${TAG}gb" 10.201.2.254/24 "$HB" "${TAG}hb" "$HB_IP/24"
ip -n "$HA" route add default via 10.201.1.254
ip -n "$HB" route add default via 10.201.2.254
for g in "$GA" "$GB"; do
	ip netns exec "$g" sysctl -qw net.ipv4.ip_forward=1
	# Decrypted packets come out of ipsec0, not the interface their route names.
	ip netns exec "$g" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
done
# Without an SA the subnets still have a route: over the veth, in clear.
ip -n "$GA" route add 10.201.2.0/24 via "$B_OUT"
ip -n "$GB" route add 10.201.1.0/24 via "$A_OUT"

BACKEND=$(esp_backend)
log "ESP backend: $BACKEND"
charon_start a "$GA" "$BACKEND"
charon_start b "$GB" "$BACKEND"

# export HOST POLICY LOCAL: the swanctl.conf of POLICY, loaded into HOST's charon.
export_load() {
	local host=$1 pol=$2 local=$3 conf=$WORK/$1/$(basename "$2" .pol).swanctl.conf
	"$SECPOL" export swanctl "$pol" --local "$local" -o "$conf" 2>"$WORK/$host/export.err" ||
		{ cat "$WORK/$host/export.err"; die "secpol export swanctl $pol failed"; }
	sed "s/^/   export($host): /" "$WORK/$host/export.err"
	swan_load "$host" "$conf" || die "swanctl --load-all of the export of $pol ($host) failed"
	EXPORTED=$conf
}

log "secpol check: IKE passes in both policies (500 exempt, 4500 permitted for nat-t)"
for p in ike_esp.pol ike_esp_a.pol; do
	"$SECPOL" check "$POLICY_DIR/$p" >"$WORK/check.out" 2>&1 || { cat "$WORK/check.out"; die "check $p"; }
	# (The one warning expected is about IPv6 neighbour discovery: the test switches IPv6 off.)
	! grep -q 'IKE traffic' "$WORK/check.out" || { cat "$WORK/check.out"; die "secpol check: IKE cannot pass in $p"; }
done

# The connection and child names come from the export.
export_load a "$POLICY_DIR/ike_esp_a.pol" "$A_OUT"
export_load b "$POLICY_DIR/ike_esp.pol" "$B_OUT"
CONN_A=$(awk '/^\t[A-Za-z0-9_-]+ \{$/ {print $1; exit}' "$WORK/a/ike_esp_a.swanctl.conf")
CONN_B=$(awk '/^\t[A-Za-z0-9_-]+ \{$/ {print $1; exit}' "$EXPORTED")
note "exported connections: A $CONN_A, B $CONN_B; child inner"
echo "---- exported swanctl.conf (B)"
sed -e 's/^/   /' -e 's/secret = .*/secret = (from ike_esp.psk)/' "$EXPORTED"
grep -q 'start_action = trap' "$EXPORTED" || die "export has no trap"
grep -q 'mode = tunnel' "$EXPORTED" || die "export is not tunnel mode"

ping_hosts() { # FROM_NS DST
	ip netns exec "$1" ping -n -q -c 3 -i 0.2 -W 1 "$2"
}
snap() { counters "$GB" "$VB" "$WORK/$1.json"; }
snap_a() { counters "$GA" "$VA" "$WORK/$1.json"; }
d() { # delta of a rule counter between two snapshots: BEFORE AFTER LABEL DIR [VERDICT]
	echo $(($(rule_pkts "$WORK/$2.json" "$3" "$4" "${5:-}") - $(rule_pkts "$WORK/$1.json" "$3" "$4" "${5:-}")))
}
dx() { # delta of an exemption counter: BEFORE AFTER NAME DIR
	echo $(($(exempt_pkts "$WORK/$2.json" "$3" "$4") - $(exempt_pkts "$WORK/$1.json" "$3" "$4")))
}
# down: the SA and its trap gone on both sides, so cleartext takes the static routes.
down() {
	swan a --terminate --ike "$CONN_A" --timeout 10 >/dev/null 2>&1 || true
	swan b --terminate --ike "$CONN_B" --timeout 10 >/dev/null 2>&1 || true
	swan a --uninstall --child inner >/dev/null 2>&1 || true
	swan b --uninstall --child inner >/dev/null 2>&1 || true
	wait_for 5 sh -c "[ \"\$(ip -n $GB route show table 220 | wc -l)\$(ip -n $GA route show table 220 | wc -l)\" = 00 ]" || true
}

# ---------------------------------------------------------------------------
log "1. policies loaded on both gateways; IKE + CHILD SA up, ESP on the wire"
secpol_load "$GA" "$VA" "$POLICY_DIR/ike_esp_a.pol"
secpol_load "$GB" "$VB" "$POLICY_DIR/ike_esp.pol"
snap p1.0
snap_a a1.0
for h in a b; do
	swan "$h" --list-pols | grep -qE "/inner, TUNNEL" || die "$h: the exported child is not installed as a trap"
done
note "ok: the exported child is a trap policy on both gateways (start_action = trap)"
if [ "$BACKEND" = kernel ]; then
	# The first packet HB -> HA hits the trap: charon negotiates on demand.
	wait_for 15 ip netns exec "$HB" ping -n -q -c 1 -W 1 "$HA_IP" || die "no traffic HB -> HA after the trap fired"
else
	# kernel-libipsec raises no acquire for a trap ("could not find an
	# outbound IPsec SA ..., dropping packet"): B initiates instead.
	# IKE_SA_INIT leaves through secpol's egress (exempt, 500), IKE_AUTH
	# follows on 4500 (the explicit permit).
	expect_ok "IKE_SA + CHILD_SA from B (behind secpol)" swan b --initiate --child inner --timeout 15
fi
state=$(sa_state b "$CONN_B" inner)
note "B: $state"
[ "$state" = "IKE=ESTABLISHED CHILD=INSTALLED" ] || die "SAs not up: $state"
snap p1.0b
expect_ok "ping $HB_IP -> $HA_IP over the CHILD SA" ping_hosts "$HB" "$HA_IP"
expect_ok "ping $HA_IP -> $HB_IP over the CHILD SA" ping_hosts "$HA" "$HB_IP"
snap p1.1
snap_a a1.1
show_counters "phase 1, gateway B (SA up)" "$WORK/p1.1.json"
show_counters "phase 1, gateway A (SA up)" "$WORK/a1.1.json"
# Each ping is 3 requests + 3 replies, each way: >= 6 ESP packets in, >= 6 out.
assert_ge "B peer-esp in protected" "$(d p1.0b p1.1 peer-esp in protected)" 6
assert_ge "B peer-esp out protected" "$(d p1.0b p1.1 peer-esp out protected)" 6
assert_ge "A peer-esp in protected" "$(d a1.0 a1.1 peer-esp in protected)" 6
assert_ge "A peer-esp out protected" "$(d a1.0 a1.1 peer-esp out protected)" 6
assert_ge "ike exemption (IKE_SA_INIT, 500) out" "$(dx p1.0 p1.1 ike out)" 1
assert_ge "ike exemption (IKE_SA_INIT, 500) in" "$(dx p1.0 p1.1 ike in)" 1
assert_ge "ike-nat-t permit (IKE_AUTH, 4500) out" "$(d p1.0 p1.1 ike-nat-t out permit)" 1
assert_ge "ike-nat-t permit (IKE_AUTH, 4500) in" "$(d p1.0 p1.1 ike-nat-t in permit)" 1
assert_eq "inner (cleartext) seen on B's veth while the SA is up" \
	"$(($(d p1.0 p1.1 inner in) + $(d p1.0 p1.1 inner out)))" 0
assert_eq "inner (cleartext) seen on A's veth while the SA is up" \
	"$(($(d a1.0 a1.1 inner in) + $(d a1.0 a1.1 inner out)))" 0
assert_ge "ipsec (protected form) packets on B" \
	"$(($(top_pkts "$WORK/p1.1.json" ipsec) - $(top_pkts "$WORK/p1.0b.json" ipsec)))" 12

# ---------------------------------------------------------------------------
log "2. SA torn down (and its trap): the same cleartext is blocked out (leak) and in (unsecured)"
down
note "B: $(sa_state b "$CONN_B" inner)"
snap p2.0
snap_a a2.0
expect_fail "ping $HA_IP -> $HB_IP in clear (A drops it outbound)" ping_hosts "$HA" "$HB_IP"
snap_a a2.1
expect_fail "ping $HB_IP -> $HA_IP in clear (B drops it outbound)" ping_hosts "$HB" "$HA_IP"
snap p2.1
# With A's filter gone, A's cleartext reaches B, which drops it inbound.
secpol_unload "$GA" "$VA"
expect_fail "ping $HA_IP -> $HB_IP in clear, no filter on A (B drops it inbound)" ping_hosts "$HA" "$HB_IP"
snap p2.2
show_counters "phase 2, gateway B (SA down)" "$WORK/p2.2.json"
show_counters "phase 2, gateway A (SA down)" "$WORK/a2.1.json"
assert_ge "A inner out block (leak)" "$(d a2.0 a2.1 inner out block)" 3
assert_ge "B inner out block (leak)" "$(d p2.0 p2.1 inner out block)" 3
assert_eq "B inner in while B's pings were blocked (nothing left B)" "$(d p2.0 p2.1 inner in)" 0
assert_ge "B inner in block (unsecured inbound)" "$(d p2.1 p2.2 inner in block)" 3

# ---------------------------------------------------------------------------
log "3. exemptions none and no IKE permit: negotiation fails; secpol check warned"
if "$SECPOL" check "$POLICY_DIR/ike_esp_none.pol" >"$WORK/check.out" 2>&1; then :; fi
sed 's/^/   check: /' "$WORK/check.out"
grep -qi 'warn' "$WORK/check.out" || die "secpol check gave no warning for ike_esp_none.pol"
grep -qiE 'ike|500' "$WORK/check.out" || die "secpol check's warning does not mention IKE"
export_load b "$POLICY_DIR/ike_esp_none.pol" "$B_OUT"
swan b --uninstall --child inner >/dev/null 2>&1 || true
secpol_load "$GB" "$VB" "$POLICY_DIR/ike_esp_none.pol"
snap p3.0
expect_fail "IKE from B (its IKE_SA_INIT is blocked on the way out)" swan b --initiate --child inner --timeout 8
expect_fail "IKE from A (B drops the IKE_SA_INIT inbound)" swan a --initiate --child inner --timeout 8
snap p3.1
show_counters "phase 3 (exemptions none)" "$WORK/p3.1.json"
note "B: $(sa_state b "$CONN_B" inner)"
ex() { top_pkts "$WORK/$1.json" default "$2"; }
assert_ge "default out (B's IKE_SA_INIT, blocked)" $(($(ex p3.1 out) - $(ex p3.0 out))) 1
assert_ge "default in (A's IKE_SA_INIT, blocked)" $(($(ex p3.1 in) - $(ex p3.0 in))) 1
down

# ---------------------------------------------------------------------------
log "4. secure fallback-clear: no SA, outbound falls back to clear, inbound clear still blocked"
export_load b "$POLICY_DIR/ike_esp_fallback.pol" "$B_OUT"
grep -q 'fallback-clear has no strongSwan equivalent' "$WORK/b/export.err" ||
	die "the export did not warn that fallback-clear cannot be expressed"
grep -q 'ike_esp_fallback.pol:12' "$WORK/b/export.err" || die "the export's warning does not name the filter's line"
swan b --uninstall --child inner-fallback >/dev/null 2>&1 || true
secpol_load "$GB" "$VB" "$POLICY_DIR/ike_esp_fallback.pol"
snap p4.0
udp_listen "$HA" "$HA_IP" 7777 "$WORK/fallback.rcv"
sleep 0.5
udp_send "$HB" "$HB_IP" "$HA_IP" 7777 "fallback-to-clear"
wait_for 5 test -s "$WORK/fallback.rcv" || die "datagram HB->HA did not arrive in clear under fallback-clear"
note "ok: HA received '$(cat "$WORK/fallback.rcv")' in clear"
expect_fail "ping $HA_IP -> $HB_IP (inbound clear, no accept-clear)" ping_hosts "$HA" "$HB_IP"
snap p4.1
show_counters "phase 4 (fallback-clear)" "$WORK/p4.1.json"
assert_ge "inner-fallback out permit (clear fallback)" "$(d p4.0 p4.1 inner-fallback out permit)" 1
assert_ge "inner-fallback in block (clear inbound)" "$(d p4.0 p4.1 inner-fallback in block)" 3
# And the SA still wins when it can be had: with it up the same traffic is ESP.
expect_ok "IKE_SA + CHILD_SA again under the fallback policy" swan b --initiate --child inner-fallback --timeout 15
expect_ok "ping $HB_IP -> $HA_IP over the CHILD SA" ping_hosts "$HB" "$HA_IP"
snap p4.2
assert_ge "peer-esp out protected under fallback policy" "$(d p4.1 p4.2 peer-esp out protected)" 3
assert_eq "inner-fallback out while the SA is up" "$(d p4.1 p4.2 inner-fallback out)" 0
show_counters "phase 4 (fallback-clear, SA up again)" "$WORK/p4.2.json"
