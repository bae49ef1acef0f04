#!/usr/bin/env bash
# interop.kerberos — a real MIT KDC in one namespace, kinit from the other,
# secpol on the client's veth with a policy that blocks everything else.
# KB253169: Kerberos (TCP/UDP port 88 either way) is exempt by default
# (NoDefaultExempt 0); values 1 and 3 drop that exemption, and then only a
# filter that permits port 88 lets the client authenticate.
#
#   A (client, secpol on vethA) 10.202.0.1/24 ---- 10.202.0.2/24 B (krb5kdc)
source "$(dirname "$0")/lib.sh"
trap cleanup EXIT INT TERM

require_root
require_tools ip nsenter jq ss krb5kdc kdb5_util kadmin.local kinit klist
require_secpol

A=${TAG}kA B=${TAG}kB VA=${TAG}ka VB=${TAG}kb
A_ADDR=10.202.0.1 KDC=10.202.0.2

log "namespaces $A (client) and $B (KDC)"
ns_new "$A"
ns_new "$B"
veth "$A" "$VA" "$A_ADDR/24" "$B" "$VB" "$KDC/24"
kdc_start "$B" "$KDC"
expect_ok "kinit without secpol (the KDC works)" kinit_in "$A"

# run_case POLICY EXPECT(ok|fail): loads POLICY fresh (counters from zero),
# runs kinit, prints the counters; leaves them in $WORK/<policy>.json.
run_case() {
	local pol=$1 want=$2 name
	name=$(basename "$pol" .pol)
	log "$name: kinit must ${want/ok/succeed}"
	nsx "$A" "$SECPOL" unload --dev "$VA" >/dev/null 2>&1 || true
	secpol_load "$A" "$VA" "$POLICY_DIR/$pol"
	if [ "$want" = ok ]; then
		expect_ok "kinit alice through $name" kinit_in "$A"
	else
		expect_fail "kinit alice through $name" kinit_in "$A"
	fi
	counters "$A" "$VA" "$WORK/$name.json"
	show_counters "$name" "$WORK/$name.json"
}

run_case kerberos_nde0.pol ok
assert_ge "kerberos exemption out (AS-REQ)" "$(exempt_pkts "$WORK/kerberos_nde0.json" kerberos out)" 1
assert_ge "kerberos exemption in (AS-REP)" "$(exempt_pkts "$WORK/kerberos_nde0.json" kerberos in)" 1
assert_eq "default block out under 0" "$(top_pkts "$WORK/kerberos_nde0.json" default out)" 0

for n in 1 3; do
	run_case "kerberos_nde$n.pol" fail
	assert_eq "kerberos exemption under $n" \
		$(($(exempt_pkts "$WORK/kerberos_nde$n.json" kerberos out) + $(exempt_pkts "$WORK/kerberos_nde$n.json" kerberos in))) 0
	# kinit's UDP AS-REQ retries (and its TCP SYN) die at A's egress hook.
	assert_ge "default block out under $n (AS-REQ)" "$(top_pkts "$WORK/kerberos_nde$n.json" default out)" 1
done

run_case kerberos_nde3_permit88.pol ok
j=$WORK/kerberos_nde3_permit88.json
assert_ge "kdc filters out permit" $(($(rule_pkts "$j" kdc-udp out permit) + $(rule_pkts "$j" kdc-tcp out permit))) 1
assert_ge "kdc filters in permit" $(($(rule_pkts "$j" kdc-udp in permit) + $(rule_pkts "$j" kdc-tcp in permit))) 1
assert_eq "kerberos exemption under 3" $(($(exempt_pkts "$j" kerberos out) + $(exempt_pkts "$j" kerberos in))) 0
