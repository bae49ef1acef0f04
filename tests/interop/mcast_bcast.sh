#!/usr/bin/env bash
# interop.mcast_bcast — mDNS (multicast to 224.0.0.251:5353) and a DHCP
# exchange (broadcast, dnsmasq serving, dhclient asking) across one link, with
# secpol on the client's veth and no filters at all: under NoDefaultExempt 0
# multicast and broadcast are exempt and both work; under 2 (RSVP, Kerberos,
# IKE only) both are blocked.
#
#   A (mDNS querier, DHCP client, secpol on vethA) 10.203.0.1/24
#       ---- 10.203.0.2/24 B (mDNS responder, dnsmasq)
source "$(dirname "$0")/lib.sh"
trap cleanup EXIT INT TERM

require_root
require_tools ip nsenter jq ss "$PYTHON" dnsmasq dhclient
require_secpol

A=${TAG}mA B=${TAG}mB VA=${TAG}ma VB=${TAG}mb
A_ADDR=10.203.0.1 B_ADDR=10.203.0.2

log "namespaces $A (client) and $B (server)"
ns_new "$A"
ns_new "$B"
veth "$A" "$VA" "$A_ADDR/24" "$B" "$VB" "$B_ADDR/24"
mdns_responder "$B" "$B_ADDR"
# A answers too, so that B's queries test A's inbound side.
mdns_responder "$A" "$A_ADDR"
dnsmasq_start "$B" "$VB"
expect_ok "mDNS without secpol" mdns_query "$A" "$A_ADDR" 3
expect_ok "mDNS without secpol (B asks A)" mdns_query "$B" "$B_ADDR" 3
expect_ok "DHCP without secpol" dhcp_lease "$A" "$VA"

run_case() { # N EXPECT(ok|fail)
	local n=$1 want=$2 pol=mcast_bcast_nde$1
	log "$pol: mDNS and DHCP must ${want/ok/succeed}"
	nsx "$A" "$SECPOL" unload --dev "$VA" >/dev/null 2>&1 || true
	secpol_load "$A" "$VA" "$POLICY_DIR/$pol.pol"
	if [ "$want" = ok ]; then
		expect_ok "mDNS query answered (nodefaultexempt $n)" mdns_query "$A" "$A_ADDR" 3
		expect_ok "mDNS query from B answered by A (nodefaultexempt $n)" mdns_query "$B" "$B_ADDR" 3
		expect_ok "DHCP lease (nodefaultexempt $n)" dhcp_lease "$A" "$VA"
	else
		expect_fail "mDNS query answered (nodefaultexempt $n)" mdns_query "$A" "$A_ADDR" 3
		expect_fail "mDNS query from B answered by A (nodefaultexempt $n)" mdns_query "$B" "$B_ADDR" 3
		expect_fail "DHCP lease (nodefaultexempt $n)" dhcp_lease "$A" "$VA"
	fi
	counters "$A" "$VA" "$WORK/$pol.json"
	show_counters "$pol" "$WORK/$pol.json"
}

run_case 0 ok
j=$WORK/mcast_bcast_nde0.json
assert_ge "multicast exemption out (mDNS query, IGMP report)" "$(exempt_pkts "$j" multicast out)" 1
assert_ge "multicast exemption in (mDNS answer, B's query)" "$(exempt_pkts "$j" multicast in)" 2
assert_ge "broadcast exemption out (DISCOVER, REQUEST)" "$(exempt_pkts "$j" broadcast out)" 2
assert_ge "broadcast exemption in (OFFER, ACK)" "$(exempt_pkts "$j" broadcast in)" 2

run_case 2 fail
j=$WORK/mcast_bcast_nde2.json
assert_eq "multicast + broadcast exemptions under 2" \
	$(($(exempt_pkts "$j" multicast out) + $(exempt_pkts "$j" multicast in) + $(exempt_pkts "$j" broadcast out) + $(exempt_pkts "$j" broadcast in))) 0
# The queries and DISCOVERs die at A's egress hook, so B never answers.
assert_ge "default block out (mDNS queries, DISCOVERs)" "$(top_pkts "$j" default out)" 3
# B's queries reach A's ingress hook and die there: A's responder never hears them.
assert_ge "default block in (B's mDNS queries)" "$(top_pkts "$j" default in)" 1

# ---------------------------------------------------------------------------
# Most DHCP servers unicast OFFER/ACK to the offered address when the client
# did not ask for broadcast (dhclient does not). The client does not own that
# address yet, so the reply is neither local nor broadcast: none of the
# Windows exemptions covers it and the exchange fails even under 0; the
# 'dhcp' exemption of an explicit exemption set is what lets it in.
log "DHCP server replying by unicast"
stop "$DNSMASQ_PID"
dnsmasq_start "$B" "$VB" unicast
run_dhcp() { # POLICY EXPECT
	nsx "$A" "$SECPOL" unload --dev "$VA" >/dev/null 2>&1 || true
	secpol_load "$A" "$VA" "$POLICY_DIR/$1.pol"
	if [ "$2" = ok ]; then
		expect_ok "DHCP lease, unicast replies ($1)" dhcp_lease "$A" "$VA"
	else
		expect_fail "DHCP lease, unicast replies ($1)" dhcp_lease "$A" "$VA"
	fi
	counters "$A" "$VA" "$WORK/$1.unicast.json"
	show_counters "$1, unicast DHCP replies" "$WORK/$1.unicast.json"
}
run_dhcp mcast_bcast_nde0 fail
j=$WORK/mcast_bcast_nde0.unicast.json
assert_ge "broadcast exemption out (DISCOVER)" "$(exempt_pkts "$j" broadcast out)" 1
assert_ge "default block in (unicast OFFER to the offered address)" "$(top_pkts "$j" default in)" 1
run_dhcp mcast_bcast_dhcp ok
j=$WORK/mcast_bcast_dhcp.unicast.json
assert_ge "dhcp exemption in (unicast OFFER, ACK)" "$(exempt_pkts "$j" dhcp in)" 2
assert_eq "default block in" "$(top_pkts "$j" default in)" 0
