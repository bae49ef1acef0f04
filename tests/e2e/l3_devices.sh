# Issue 12 item 1: devices without a link layer. A tun device in each
# namespace, joined by a relay process, carries real UDP both ways; secpol on
# the tun of namespace A must block and count by the IP header (before the
# fix the Ethernet program read IP bytes 12-13 as an EtherType and let every
# packet through as non-IP). Then every tunnel kind the kernel can create:
# ipip, sit, gre, ip6tnl, ip6gre must be refused with nothing attached,
# WireGuard must load the IP-only programs; a kind the kernel lacks is
# reported, not counted as tested. Last, a link type secpol does not know.
source "$(dirname "$0")/lib.sh"
e2e_setup l3_devices

# The tun devices take the place of the veth in the trap's cleanup.
TA="stn${VA#spa}"
TB="stm${VA#spa}"
VA=$TA
TIPA=10.201.0.1
TIPB=10.201.0.2
ip -n "$NSA" tuntap add dev "$TA" mode tun || fail "create tun $TA"
ip -n "$NSB" tuntap add dev "$TB" mode tun || fail "create tun $TB"
ip -n "$NSA" addr add "$TIPA/32" peer "$TIPB" dev "$TA" || fail "address $TA"
ip -n "$NSB" addr add "$TIPB/32" peer "$TIPA" dev "$TB" || fail "address $TB"
ip -n "$NSA" link set "$TA" up && ip -n "$NSB" link set "$TB" up || fail "tun up"

# The relay: attaches to each tun inside its namespace, copies packets across.
cat >"$E2E_TMP/relay.py" <<'PY'
import ctypes, fcntl, os, select, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET, TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x40000000, 0x400454CA, 0x0001, 0x1000
def attach(ns, name):
    nsfd = os.open("/run/netns/" + ns, os.O_RDONLY)
    if libc.setns(nsfd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns " + ns)
    os.close(nsfd)
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd
a = attach(sys.argv[1], sys.argv[2])
b = attach(sys.argv[3], sys.argv[4])
print("ready", flush=True)
while True:
    for fd in select.select([a, b], [], [])[0]:
        os.write(b if fd == a else a, os.read(fd, 65536))
PY
$E2E_PY "$E2E_TMP/relay.py" "$NSA" "$TA" "$NSB" "$TB" >"$E2E_TMP/relay.out" 2>&1 &
E2E_PIDS="${E2E_PIDS:-} $!"
for i in $(seq 100); do
    grep -q ready "$E2E_TMP/relay.out" && break
    sleep 0.05
done
grep -q ready "$E2E_TMP/relay.out" || fail "tun relay did not start: $(cat "$E2E_TMP/relay.out")"
inB ping -c 1 -W 2 "$TIPA" >/dev/null || fail "no traffic across the tun pair before any policy"

cat >"$E2E_TMP/p.pol" <<'POL'
policy "e2e l3"
exemptions none
order first-match
default permit
permit proto udp from any to me port 7000 "udp-in"
block proto udp from any to me port 7002 "udp-blocked-in"
permit proto udp from me to any port 7001 "udp-out"
block proto udp from me to any port 7003 "udp-blocked-out"
POL

secpolA load "$E2E_TMP/p.pol" --dev "$TA" >"$E2E_TMP/load.out" 2>&1 || fail "load on tun: $(cat "$E2E_TMP/load.out")"
cat "$E2E_TMP/load.out"
grep -q "IP device" "$E2E_TMP/load.out" || fail "load did not say it loaded the IP-only programs"
tc -n "$NSA" filter show dev "$TA" egress | grep -q secpol_l3_out || fail "tc egress filter secpol_l3_out missing"
ip -n "$NSA" -d link show "$TA" | grep -q "prog/xdp" || fail "no XDP program on $TA"
say "XDP on tun: $(ip -n "$NSA" -d link show "$TA" | grep -o 'xdp[a-z]* ' | head -1)"

start_sink A 20 7000 7002
start_sink B 20 7001 7003
pyB send $TIPA 7000 10 >/dev/null
pyB send $TIPA 7002 7 >/dev/null
pyA send $TIPB 7001 6 >/dev/null
pyA send $TIPB 7003 5 >/dev/null
stop_sinks
expect_eq "$(sink_count A 7000)" 10 "datagrams received on permitted port 7000"
expect_eq "$(sink_count A 7002)" 0 "datagrams received on blocked port 7002 (ingress, XDP)"
expect_eq "$(sink_count B 7001)" 6 "datagrams received by B on 7001"
expect_eq "$(sink_count B 7003)" 0 "datagrams received by B on blocked 7003 (egress, tc)"

secpolA counters --dev "$TA" --json >"$E2E_TMP/c.json" || fail "counters --json"
rule() { jget "$E2E_TMP/c.json" "[r for r in d['rules'] if r['label']=='$1'][0]$2"; }
expect_eq "$(rule udp-in "['in']['permit']['packets']")" 10 "udp-in in/permit"
# No link-layer header: IPv4 20 + UDP 8 + payload 32.
expect_eq "$(rule udp-in "['in']['bytes']")" $((10 * (20 + 8 + 32))) "udp-in in bytes"
expect_eq "$(rule udp-blocked-in "['in']['block']['packets']")" 7 "udp-blocked-in in/block"
expect_eq "$(rule udp-out "['out']['permit']['packets']")" 6 "udp-out out/permit"
expect_eq "$(rule udp-blocked-out "['out']['block']['packets']")" 5 "udp-blocked-out out/block"
for d in in out; do
    expect_eq "$(jget "$E2E_TMP/c.json" "d['non_ip']['$d']['packets']")" 0 "non-ip $d"
    expect_eq "$(jget "$E2E_TMP/c.json" "d['malformed']['$d']['packets']")" 0 "malformed $d"
done
secpolA unload --dev "$TA" >/dev/null || fail "unload tun"
tc -n "$NSA" filter show dev "$TA" egress | grep -q secpol && fail "tc filter left on $TA"

# Tunnel kinds: refused (or, WireGuard, IP-only programs) where the kernel has them.
refused_kind() {  # NAME KIND
    local out rc
    out=$(secpolA load "$E2E_TMP/p.pol" --dev "$1" 2>&1)
    rc=$?
    expect_eq "$rc" 1 "load on $2 exits 1"
    grep -q "$1: link type $2 " <<<"$out" || fail "load on $2: no clear error: $out"
    say "ok: $out"
    ip -n "$NSA" -d link show "$1" | grep -q "prog/xdp" && fail "XDP left on $2 after the refusal"
    tc -n "$NSA" filter show dev "$1" egress 2>/dev/null | grep -q secpol && fail "tc filter left on $2"
    [[ -e "/sys/fs/bpf/secpol/$1" || -e "/run/secpol/$1/state.json" ]] && fail "pins or state left for $2"
    return 0
}
tested=0
for spec in "ipip:ipip local $IPA remote $IPB" "sit:sit local $IPA remote $IPB" \
    "gre:gre local $IPA remote $IPB" "ip6tnl:ip6tnl local 2001:db8::1 remote 2001:db8::2" \
    "ip6gre:ip6gre local 2001:db8::1 remote 2001:db8::2" "wireguard:wireguard"; do
    kind=${spec%%:*}
    name="sx${kind:0:4}${VA: -4}"
    # shellcheck disable=SC2086
    if ! err=$(ip -n "$NSA" link add "$name" type ${spec#*:} 2>&1); then
        say "kernel cannot create $kind here ($err): not tested on this machine"
        continue
    fi
    ip -n "$NSA" link set "$name" up 2>/dev/null
    tested=$((tested + 1))
    if [[ $kind == wireguard ]]; then
        secpolA load "$E2E_TMP/p.pol" --dev "$name" >"$E2E_TMP/wg.out" 2>&1 || fail "load on wireguard: $(cat "$E2E_TMP/wg.out")"
        tc -n "$NSA" filter show dev "$name" egress | grep -q secpol_l3_out || fail "wireguard: secpol_l3_out not attached"
        secpolA unload --dev "$name" >/dev/null || fail "unload wireguard"
    else
        refused_kind "$name" "$kind"
    fi
    ip -n "$NSA" link del "$name"
done
say "tunnel kinds present and tested: $tested"

# The refusals again on this kernel: a tun device takes any link type through
# TUNSETLINK while it is down, so it can pose as a gre device (ARPHRD_IPGRE)
# and as PPP (ARPHRD_PPP, a type secpol does not know).
cat >"$E2E_TMP/setlink.py" <<'PY'
import ctypes, fcntl, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
nsfd = os.open("/run/netns/" + sys.argv[1], os.O_RDONLY)
if libc.setns(nsfd, 0x40000000) != 0:
    raise OSError(ctypes.get_errno(), "setns")
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH", sys.argv[2].encode(), 0x0001 | 0x1000))  # TUNSETIFF
fcntl.ioctl(fd, 0x400454CD, int(sys.argv[3]))  # TUNSETLINK
PY
for spec in "gre:778" "ppp:512"; do
    kind=${spec%%:*}
    name="sy${kind}${VA: -4}"
    ip -n "$NSA" tuntap add dev "$name" mode tun || fail "create tun $name"
    $E2E_PY "$E2E_TMP/setlink.py" "$NSA" "$name" "${spec#*:}" || fail "TUNSETLINK $name ${spec#*:}"
    ip -n "$NSA" link set "$name" up
    out=$(secpolA load "$E2E_TMP/p.pol" --dev "$name" 2>&1)
    expect_eq "$?" 1 "load on a tun posing as $kind exits 1"
    if [[ $kind == gre ]]; then
        grep -q "$name: link type gre (ARPHRD 778) is not supported" <<<"$out" || fail "no clear error for gre: $out"
    else
        grep -q "$name: link type ARPHRD 512 is not supported" <<<"$out" || fail "no clear error for ppp: $out"
    fi
    say "ok: $out"
    ip -n "$NSA" -d link show "$name" | grep -q "prog/xdp" && fail "XDP left on $name after the refusal"
    tc -n "$NSA" filter show dev "$name" egress 2>/dev/null | grep -q secpol && fail "tc filter left on $name"
    [[ -e "/sys/fs/bpf/secpol/$name" || -e "/run/secpol/$name/state.json" ]] && fail "pins or state left for $name"
    ip -n "$NSA" link del "$name"
done

# A link type secpol does not know (netlink monitor, CAN), where the kernel has one.
for spec in "nlmon" "vcan"; do
    name="sx${spec}${VA: -4}"
    if ! err=$(ip -n "$NSA" link add "$name" type "$spec" 2>&1); then
        say "kernel cannot create $spec here ($err): not tested on this machine"
        continue
    fi
    out=$(secpolA load "$E2E_TMP/p.pol" --dev "$name" 2>&1)
    expect_eq "$?" 1 "load on $spec exits 1"
    grep -q "$name: link type ARPHRD [0-9]* is not supported" <<<"$out" || fail "load on $spec: no clear error: $out"
    say "ok: $out"
    [[ -e "/sys/fs/bpf/secpol/$name" ]] && fail "pins left for $spec"
    ip -n "$NSA" link del "$name"
done
