# Issue 12 item 4: BIG TCP. With gso_ipv4_max_size above 65535 Linux sends
# IPv4 GSO packets with total length 0; tc egress used to take them for
# malformed and drop every one, stalling the transfer. A bulk TCP transfer
# from A to B under a permitting policy must arrive whole, the tc program must
# have seen packets larger than 64 KiB, and nothing may count as malformed.
source "$(dirname "$0")/lib.sh"
e2e_setup big_tcp

SIZE=185000
# iproute2 6.1 has no gso_ipv4_max_size: set it (and the IPv6/generic
# sizes) with one RTM_NEWLINK, and read them back with RTM_GETLINK.
cat >"$E2E_TMP/biglink.py" <<'PY'
import socket, struct, sys
IFLA_GSO_MAX_SIZE, IFLA_GRO_MAX_SIZE, IFLA_GSO_IPV4_MAX_SIZE, IFLA_GRO_IPV4_MAX_SIZE = 41, 58, 63, 64
RTM_NEWLINK, RTM_GETLINK, NLM_F_REQUEST, NLM_F_ACK = 16, 18, 1, 4
ifname, size = sys.argv[1], int(sys.argv[2])
idx = socket.if_nametoindex(ifname)
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
def talk(kind, flags, attrs):
    body = struct.pack("BxHiII", socket.AF_UNSPEC, 0, idx, 0, 0) + attrs
    s.send(struct.pack("IHHII", 16 + len(body), kind, flags, 1, 0) + body)
    return s.recv(65536)
if size:
    attrs = b"".join(struct.pack("HHI", 8, a, size) for a in
                     (IFLA_GSO_MAX_SIZE, IFLA_GRO_MAX_SIZE, IFLA_GSO_IPV4_MAX_SIZE, IFLA_GRO_IPV4_MAX_SIZE))
    r = talk(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, attrs)
    err = struct.unpack_from("i", r, 16)[0]
    if err:
        sys.exit("RTM_NEWLINK %s: error %d" % (ifname, err))
r = talk(RTM_GETLINK, NLM_F_REQUEST, b"")
off, got = 16 + 16, {}
while off + 4 <= len(r):
    ln, ty = struct.unpack_from("HH", r, off)
    if ln < 4: break
    if ty in (IFLA_GSO_MAX_SIZE, IFLA_GRO_MAX_SIZE, IFLA_GSO_IPV4_MAX_SIZE, IFLA_GRO_IPV4_MAX_SIZE):
        got[ty] = struct.unpack_from("I", r, off + 4)[0]
    off += (ln + 3) & ~3
print(got.get(IFLA_GSO_IPV4_MAX_SIZE, 0), got.get(IFLA_GRO_IPV4_MAX_SIZE, 0))
PY
biglink() { nsenter --net="/run/netns/$1" $E2E_PY "$E2E_TMP/biglink.py" "$2" "$3"; }
out=$(biglink "$NSA" "$VA" $SIZE) || fail "enable BIG TCP on $VA: $out"
expect_eq "$out" "$SIZE $SIZE" "$VA gso_ipv4_max_size gro_ipv4_max_size"
out=$(biglink "$NSB" "$VB" $SIZE) || fail "enable BIG TCP on $VB: $out"
expect_eq "$out" "$SIZE $SIZE" "$VB gso_ipv4_max_size gro_ipv4_max_size"

cat >"$E2E_TMP/p.pol" <<'POL'
policy "e2e big tcp"
exemptions none
default block
non-ip permit
permit proto tcp from any to any port 5201 mirrored "bulk"
POL
secpolA load "$E2E_TMP/p.pol" --dev "$VA" >/dev/null || fail "load"

# Receiver in B counts bytes; sender in A writes BYTES in 1 MiB chunks.
BYTES=$((64 << 20))
cat >"$E2E_TMP/tcp.py" <<'PY'
import socket, sys, time
if sys.argv[1] == "recv":
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((sys.argv[2], 5201)); l.listen(1)
    print("ready", flush=True)
    l.settimeout(20); c, _ = l.accept(); c.settimeout(20)
    n = 0
    while True:
        b = c.recv(1 << 20)
        if not b: break
        n += len(b)
    print(n, flush=True)
else:
    s = socket.create_connection((sys.argv[2], 5201), timeout=20)
    left, chunk = int(sys.argv[3]), b"x" * (1 << 20)
    while left > 0:
        s.sendall(chunk[:min(left, len(chunk))]); left -= min(left, len(chunk))
    s.shutdown(socket.SHUT_WR); s.recv(1); s.close()
PY
inB $E2E_PY "$E2E_TMP/tcp.py" recv "$IPB" >"$E2E_TMP/recv.out" 2>&1 &
recv_pid=$!
E2E_PIDS="${E2E_PIDS:-} $recv_pid"
for i in $(seq 100); do
    grep -q ready "$E2E_TMP/recv.out" && break
    sleep 0.05
done
timeout 30 nsenter --net="/run/netns/$NSA" $E2E_PY "$E2E_TMP/tcp.py" send "$IPB" $BYTES || fail "sender failed (the transfer stalled?)"
wait $recv_pid
expect_eq "$(tail -1 "$E2E_TMP/recv.out")" "$BYTES" "bytes received by B"

secpolA counters --dev "$VA" --json >"$E2E_TMP/c.json" || fail "counters"
pk() { jget "$E2E_TMP/c.json" "[r for r in d['rules'] if r['label']=='bulk'][0]['out']['$1']"; }
packets=$(pk packets)
bytes=$(pk bytes)
expect_ge "$packets" 1 "bulk out packets"
expect_ge "$bytes" "$BYTES" "bulk out bytes"
# GSO packets above 64 KiB reached the tc program: BIG TCP was in play.
expect_ge "$((bytes / packets))" 65536 "mean bytes per egress packet"
for d in in out; do
    expect_eq "$(jget "$E2E_TMP/c.json" "d['malformed']['$d']['packets']")" 0 "malformed $d"
done
