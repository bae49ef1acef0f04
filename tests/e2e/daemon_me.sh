#!/usr/bin/env bash
# Issue 13 item 2: while `secpol daemon` runs, "me" follows the host. An
# IPv4 and an IPv6 address added in the namespace match `to me` within 1 s
# (traffic to them counted by the `to me` filter), and once removed they
# stop matching (the same traffic goes to the default). No reload happens:
# the generation stays 1 and the program ids stay the same.
source "$(dirname "$0")/lib.sh"
e2e_setup daemon_me

NEW4=10.199.0.50
NEW6=fd00:199::50
CONF="$E2E_TMP/conf"
mkdir -p "$CONF/interfaces.d"
# Multicast and nd exempt: enabling IPv6 below makes the kernel send MLD
# reports, router solicitations and neighbour discovery at moments of its
# own; the default counter must see only the test's datagrams.
cat >"$CONF/interfaces.d/$VA.pol" <<'POL'
policy "me follows the host"
exemptions { ike multicast nd }
default permit
block proto udp from any to me port 7001 "to me"
POL

# IPv6 on the veth (the pair is made IPv4-only), no DAD, static neighbours.
maca=$(ip -n "$NSA" -br link show "$VA" | awk '{print $3}')
ip netns exec "$NSA" sysctl -qw "net.ipv6.conf.$VA.disable_ipv6=0"
ip netns exec "$NSB" sysctl -qw "net.ipv6.conf.$VB.disable_ipv6=0"
ip -n "$NSB" addr add fd00:199::2/64 dev "$VB" nodad
ip -n "$NSB" neigh replace "$NEW4" lladdr "$maca" dev "$VB" nud permanent
ip -n "$NSB" neigh replace "$NEW6" lladdr "$maca" dev "$VB" nud permanent

# A simple command, so $! is the daemon itself (nsenter execs it).
nsenter --net="/run/netns/$NSA" "$SECPOL" daemon --config-dir "$CONF" >"$E2E_TMP/daemon.log" 2>&1 &
DAEMON=$!
E2E_PIDS="${E2E_PIDS:-} $DAEMON"
for i in $(seq 100); do
    secpolA status --dev "$VA" --json >"$E2E_TMP/status0.json" 2>/dev/null && break
    kill -0 $DAEMON 2>/dev/null || { cat "$E2E_TMP/daemon.log"; fail "daemon exited"; }
    sleep 0.1
done
secpolA status --dev "$VA" --json >"$E2E_TMP/status0.json" || fail "daemon did not load the policy"
prog0=$(jget "$E2E_TMP/status0.json" 'd["interfaces"][0]["xdp"]["prog_id"]')
changed0=$(jget "$E2E_TMP/status0.json" 'd["interfaces"][0]["local_addresses_changed_at"]')

send_to() {  # ADDR: one UDP datagram from B to ADDR:7001
    inB $E2E_PY -c 'import socket,sys
a=sys.argv[1]; s=socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"me?", (a, 7001))' "$1"
}
counts() {  # -> "TO_ME DEFAULT" (ingress packets)
    secpolA counters --dev "$VA" --json >"$E2E_TMP/c.json" || fail "counters"
    jget "$E2E_TMP/c.json" '"%d %d" % (d["rules"][0]["in"]["block"]["packets"], d["default"]["in"]["packets"])'
}

# Before: the new addresses are not "me".
read -r me0 def0 <<<"$(counts)"
send_to $NEW4
send_to $NEW6
read -r me1 def1 <<<"$(counts)"
expect_eq $((me1 - me0)) 0 "before the add: packets to $NEW4 and $NEW6 matching 'to me'"
expect_eq $((def1 - def0)) 2 "before the add: the same packets counted by the default"

# change_then_wait "IP-COMMAND" ADDR WANT_ME(1|0): reads the counters, runs
# the address change, then sends one datagram every 50 ms until it is (or is
# no longer) counted by 'to me'. Prints the milliseconds from the change to
# the sending of the first datagram that was classified the new way (the
# counter reads between probes are not part of it).
change_then_wait() {
    local cmd=$1 addr=$2 want=$3 t0 ts me0 def0 me def
    read -r me0 def0 <<<"$(counts)"
    $cmd || fail "$cmd"
    t0=$(date +%s%N)
    while :; do
        ts=$(date +%s%N)
        send_to "$addr"
        read -r me def <<<"$(counts)"
        if ((want == 1 && me == me0 + 1)) || ((want == 0 && def == def0 + 1 && me == me0)); then
            echo $(((ts - t0) / 1000000))
            return 0
        fi
        (($(date +%s%N) - t0 > 5000000000)) && { echo 99999; return 0; }
        me0=$me def0=$def
        sleep 0.05
    done
}

sleep 1  # the change time has a resolution of a second: make the change later than the load
ms=$(change_then_wait "ip -n $NSA addr add $NEW4/24 dev $VA" $NEW4 1)
say "IPv4 $NEW4 added: matches 'to me' after $ms ms"
((ms <= 1000)) || fail "IPv4 address added: not 'me' within 1 s (${ms} ms)"
ms=$(change_then_wait "ip -n $NSA addr add $NEW6/64 dev $VA nodad" $NEW6 1)
say "IPv6 $NEW6 added: matches 'to me' after $ms ms"
((ms <= 1000)) || fail "IPv6 address added: not 'me' within 1 s (${ms} ms)"

secpolA status --dev "$VA" --json >"$E2E_TMP/status1.json"
changed1=$(jget "$E2E_TMP/status1.json" 'd["interfaces"][0]["local_addresses_changed_at"]')
say "local_addresses_changed_at: $changed0 -> $changed1"
[[ "$changed1" > "$changed0" ]] || fail "local_addresses_changed_at did not move on an address change"
bound=$(jget "$E2E_TMP/status1.json" '" ".join(d["interfaces"][0]["local_addresses"])')
say "status local_addresses: $bound"
[[ " $bound " == *" $NEW4 "* && " $bound " == *" $NEW6 "* ]] || fail "status does not show the added addresses as bound"
grep -q "'me' is now.* $NEW4" "$E2E_TMP/daemon.log" || fail "daemon did not log the new 'me' set"

ms=$(change_then_wait "ip -n $NSA addr del $NEW4/24 dev $VA" $NEW4 0)
say "IPv4 $NEW4 removed: no longer 'me' after $ms ms"
((ms <= 1000)) || fail "IPv4 address removed: still 'me' after 1 s"
ms=$(change_then_wait "ip -n $NSA addr del $NEW6/64 dev $VA" $NEW6 0)
say "IPv6 $NEW6 removed: no longer 'me' after $ms ms"
((ms <= 1000)) || fail "IPv6 address removed: still 'me' after 1 s"

# The original address stayed "me" throughout; no reload happened.
read -r me def <<<"$(counts)"
send_to $IPA
read -r me2 def2 <<<"$(counts)"
expect_eq $((me2 - me)) 1 "$IPA still matches 'to me'"
secpolA status --dev "$VA" --json >"$E2E_TMP/status2.json"
expect_eq "$(jget "$E2E_TMP/status2.json" 'd["interfaces"][0]["generation"]')" 1 "generation (no reload)"
expect_eq "$(jget "$E2E_TMP/status2.json" '"'$NEW4'" in d["interfaces"][0]["local_addresses"]')" False "$NEW4 no longer bound (status)"
expect_eq "$(jget "$E2E_TMP/status2.json" 'd["interfaces"][0]["xdp"]["prog_id"]')" "$prog0" "XDP program id (no reload)"

kill -TERM $DAEMON
wait $DAEMON
expect_eq $? 0 "daemon exit status on SIGTERM"
secpolA status --dev "$VA" >/dev/null || fail "on_stop=keep (the default): the policy must stay after the daemon stops"
say "policy still loaded after the daemon stopped (on_stop = keep)"
