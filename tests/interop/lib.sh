# lib.sh — helpers shared by the interop tests (sourced, not run).
#
# Every test builds its own throwaway network namespaces joined by veth pairs,
# starts real daemons from Debian's packages inside them, loads secpol onto one
# of the veths and checks what the daemons manage to do and what the counters
# say. Everything created here is registered for removal by `cleanup`, which
# each test installs with `trap cleanup EXIT INT TERM`.

set -euo pipefail

INTEROP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SECPOL_SOURCE_DIR=${SECPOL_SOURCE_DIR:-$(cd "$INTEROP_DIR/../.." && pwd)}
SECPOL_SHARED_DIR=${SECPOL_SHARED_DIR:-$SECPOL_SOURCE_DIR/../shared}
SECPOL=${SECPOL:-$SECPOL_SOURCE_DIR/build/secpol}
POLICY_DIR=$INTEROP_DIR/policies
# Debian's interpreter, not whatever shim comes first in PATH (a pyenv shim
# costs two seconds a start, and the tests start python a few dozen times).
PYTHON=${PYTHON:-/usr/bin/python3}
CONF_DIR=$INTEROP_DIR/conf

# A short tag unique to this run: namespace and interface names derive from it
# (interface names have at most 15 characters), so two runs never collide.
TAG=${TAG_PREFIX:-x}$(($$ % 100000))
WORK=$(mktemp -d "/tmp/secpol-interop-${TAG}.XXXXXX")

_CLEANUP=()
_PIDS=()
_FAILED=0

log() { printf '== [%3ds] %s\n' "$SECONDS" "$*"; }
note() { printf '   %s\n' "$*"; }
die() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

# Runs registered undo steps in reverse order; never stops at a failing one,
# so a half-built setup is still torn down.
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	local p
	for p in "${_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${_PIDS[@]}"; do
		# Our own children can be waited for; give stubborn ones a second.
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	local i
	for ((i = ${#_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${_CLEANUP[$i]}" >/dev/null 2>&1
	done
	if [ "$rc" -ne 0 ] && [ -d "$WORK" ]; then
		# Daemon logs are the first thing to read when a test fails.
		local f
		for f in "$WORK"/*.log "$WORK"/*/*.log; do
			[ -f "$f" ] || continue
			echo "---- tail of $f"
			tail -n 25 "$f"
		done
	fi
	rm -rf "$WORK"
	if [ "$rc" -eq 0 ]; then echo "PASS (${SECONDS}s)"; else echo "FAIL (exit $rc, ${SECONDS}s)"; fi
	exit "$rc"
}

at_cleanup() { _CLEANUP+=("$*"); }

require_root() {
	[ "$(id -u)" = 0 ] || die "must run as root: the test creates network namespaces and loads BPF programs"
}

# A missing tool is a failure, not a skip: `make deps` installs all of them.
require_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || [ -x "$t" ] || die "missing tool '$t' (run 'make deps')"
	done
}

require_secpol() {
	[ -x "$SECPOL" ] || die "secpol binary not found at '$SECPOL' (set SECPOL or build first)"
}

# ---- namespaces and links -----------------------------------------------

# ns_new NAME: a namespace with loopback up, removed at cleanup.
ns_new() {
	ip netns add "$1"
	at_cleanup "ip netns del '$1'"
	ip -n "$1" link set lo up
}

# veth NS1 IF1 ADDR1/LEN NS2 IF2 ADDR2/LEN: a veth pair between two namespaces.
# IPv6 is switched off on the pair so link-local chatter (ND, MLD) does not
# blur the counters the tests check.
veth() {
	local ns1=$1 if1=$2 a1=$3 ns2=$4 if2=$5 a2=$6
	ip link add "$if1" type veth peer name "$if2"
	ip link set "$if1" netns "$ns1" || { ip link del "$if1"; return 1; }
	at_cleanup "ip -n '$ns1' link del '$if1'"
	ip link set "$if2" netns "$ns2"
	local ns ifc addr
	for spec in "$ns1 $if1 $a1" "$ns2 $if2 $a2"; do
		read -r ns ifc addr <<<"$spec"
		ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$ifc.disable_ipv6=1"
		[ "$addr" = - ] || ip -n "$ns" addr add "$addr" dev "$ifc"
		ip -n "$ns" link set "$ifc" up
	done
}

# nsx NS CMD...: runs CMD in NS's network namespace only. Unlike `ip netns
# exec`, it keeps the host's /sys, so secpol's pins land in the host's bpffs.
nsx() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" -- "$@"
}

# spawn LOGNAME CMD...: starts a daemon in the background (logs in
# $WORK/LOGNAME.log); it is killed at cleanup. Sets SPAWNED_PID.
spawn() {
	local name=$1
	shift
	"$@" >"$WORK/$name.log" 2>&1 &
	SPAWNED_PID=$!
	_PIDS+=("$SPAWNED_PID")
}

# stop PID: stops one daemon started by spawn now (not only at cleanup).
stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# kill_wait PID: stops a process that is not our child (a daemon that forked
# away) and waits up to 2 s for it to be gone.
kill_wait() {
	kill "$1" 2>/dev/null || return 0
	for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$1" 2>/dev/null || return 0; sleep 0.2; done
	kill -9 "$1" 2>/dev/null || true
}

# wait_for SECONDS CMD...: polls CMD every 0.2 s until it succeeds.
wait_for() {
	local t=$1
	shift
	local n=$((t * 5))
	while ((n-- > 0)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# render TEMPLATE OUT KEY=VALUE...: copies a template from conf/, replacing
# every @KEY@.
render() {
	local in=$1 out=$2
	shift 2
	local sed_args=() kv
	for kv in "$@"; do
		sed_args+=(-e "s|@${kv%%=*}@|${kv#*=}|g")
	done
	sed "${sed_args[@]}" "$in" >"$out"
	if grep -q '@[A-Z_]*@' "$out"; then
		die "template $in: unreplaced placeholder in $out: $(grep -o '@[A-Z_]*@' "$out" | head -1)"
	fi
}

# ---- expectations --------------------------------------------------------

# expect_ok WHAT CMD...: CMD must succeed.
expect_ok() {
	local what=$1
	shift
	if "$@" >"$WORK/last.out" 2>&1; then
		note "ok: $what"
	else
		cat "$WORK/last.out" >&2
		die "expected to succeed: $what"
	fi
}

# expect_fail WHAT CMD...: CMD must fail.
expect_fail() {
	local what=$1
	shift
	if "$@" >"$WORK/last.out" 2>&1; then
		cat "$WORK/last.out" >&2
		die "expected to fail: $what"
	else
		note "ok (failed as expected): $what"
	fi
}

# ---- secpol --------------------------------------------------------------

# secpol_check POLICY: `secpol check`; prints its diagnostics to $WORK/check.out.
secpol_check() {
	"$SECPOL" check "$1" >"$WORK/check.out" 2>&1
}

# secpol_load NS DEV POLICY [ARGS...]: loads POLICY onto DEV inside NS (host
# bpffs, so nsenter), with the namespace's addresses as "me". Unloaded at
# cleanup.
secpol_load() {
	local ns=$1 dev=$2 pol=$3
	shift 3
	# The loader keeps a lock file per interface name in /run/secpol; ours
	# are unique to this run and the interface goes away, so drop it too.
	at_cleanup "rm -f '/run/secpol/$dev.lock'"
	at_cleanup "nsenter --net='/run/netns/$ns' -- '$SECPOL' unload --dev '$dev'"
	nsx "$ns" "$SECPOL" load "$pol" --dev "$dev" --local auto "$@" ||
		die "secpol load $pol on $ns/$dev failed"
}

secpol_unload() {
	nsx "$1" "$SECPOL" unload --dev "$2" || die "secpol unload on $1/$2 failed"
}

# counters NS DEV OUT: saves `secpol counters --json` to OUT.
counters() {
	nsx "$1" "$SECPOL" counters --dev "$2" --json >"$3" || die "secpol counters on $1/$2 failed"
}

# The JSON of `secpol counters --json`: rules[] with in/out
# objects holding packets, bytes and per-verdict {permit,block,protected}
# {packets,bytes}; exemptions{name:{in,out}}; default, malformed, fragment,
# non_ip, ipsec as {in,out} of {packets,bytes}.

# rule_pkts JSON LABEL DIR [VERDICT]: packets the rules labelled LABEL (a
# mirrored filter is two rules with one label) counted in DIR (in|out), all
# verdicts or one (permit|block|protected).
rule_pkts() {
	jq -r --arg l "$2" --arg d "$3" --arg v "${4:-}" \
		'[.rules[] | select(.label == $l) | .[$d] | if $v == "" then .packets else .[$v].packets end] | add // 0' "$1"
}

# exempt_pkts JSON NAME DIR: packets exempted under NAME in DIR.
exempt_pkts() {
	jq -r --arg n "$2" --arg d "$3" '.exemptions[$n][$d].packets // 0' "$1"
}

# top_pkts JSON KEY [DIR]: one of the rows default, malformed, fragment,
# non_ip, ipsec; both directions summed when DIR is omitted.
top_pkts() {
	jq -r --arg k "$2" --arg d "${3:-}" \
		'.[$k] | if $d == "" then .in.packets + .out.packets else .[$d].packets end' "$1"
}

# show_counters TITLE JSON: prints the non-zero counters of a snapshot, the
# lines the closing note quotes.
show_counters() {
	echo "---- counters: $1"
	jq -r '
	  def v: "p=\(.permit.packets) b=\(.block.packets) x=\(.protected.packets)";
	  (.rules[] | select(.in.packets + .out.packets > 0)
	     | "   rule \(.id) \"\(.label)\" \(.action) line \(.line): in[\(.in|v)] out[\(.out|v)]"),
	  (.exemptions | to_entries[] | select(.value.in.packets + .value.out.packets > 0)
	     | "   exemption \(.key): in=\(.value.in.packets) out=\(.value.out.packets)"),
	  (to_entries[] | select(.key | IN("default","malformed","fragment","non_ip","ipsec"))
	     | select(.value.in.packets + .value.out.packets > 0)
	     | "   \(.key): in=\(.value.in.packets) out=\(.value.out.packets)")' "$2"
	echo "   (p/b/x = permit/block/protected packets)"
}

# assert_ge WHAT VALUE MIN
assert_ge() {
	[ "$2" -ge "$3" ] || die "$1: expected >= $3, got $2"
	note "ok: $1 = $2 (>= $3)"
}

# assert_eq WHAT VALUE WANT
assert_eq() {
	[ "$2" -eq "$3" ] || die "$1: expected $3, got $2"
	note "ok: $1 = $2"
}

# ---- small traffic tools ------------------------------------------------

# udp_listen NS ADDR PORT OUTFILE: a one-shot UDP receiver in the background
# (python3: no netcat flavour quirks); writes what it received to OUTFILE.
udp_listen() {
	local ns=$1 addr=$2 port=$3 out=$4
	spawn "udp-listen-$port" ip netns exec "$ns" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(30)
data, peer = s.recvfrom(2048)
open(sys.argv[3], "wb").write(data)
' "$addr" "$port" "$out"
}

# udp_send NS SRC DST PORT PAYLOAD: sends one datagram from SRC.
udp_send() {
	ip netns exec "$1" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.sendto(sys.argv[4].encode(), (sys.argv[2], int(sys.argv[3])))
' "$2" "$3" "$4" "$5"
}

# ---- strongSwan ------------------------------------------------------------

CHARON=${CHARON:-/usr/lib/ipsec/charon}

# esp_backend: prints "kernel" when this kernel can hold ESP SAs (XFRM with
# esp4), else "libipsec". The probe adds one SA in a scratch namespace: with
# CONFIG_INET_ESP off the kernel refuses it ("Requested type not found").
esp_backend() {
	local ns="espprobe$$"
	ip netns add "$ns"
	if ip -n "$ns" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x1000 mode tunnel \
		enc 'cbc(aes)' 0x00112233445566778899aabbccddeeff \
		auth-trunc 'hmac(sha256)' 0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 128 \
		>/dev/null 2>&1; then
		echo kernel
	else
		echo libipsec
	fi
	ip netns del "$ns"
}

# charon_start HOST NS BACKEND: renders strongswan.conf into $WORK/HOST and
# starts charon inside NS with no connection loaded (swan_load loads the
# configuration secpol exported). BACKEND is kernel (kernel-netlink: XFRM
# does ESP) or libipsec (kernel-libipsec: ESP in user space over TUN, which
# needs UDP encapsulation: the policies' `nat-t`). charon's pid file is
# compiled in (/var/run/charon.pid), so each instance gets a private mount
# namespace with its own directory over /run; nothing else of the host's /run
# is needed by charon.
charon_start() {
	local host=$1 ns=$2 backend=$3
	local dir=$WORK/$host plugins
	mkdir -p "$dir/run" "$dir/swanctl"
	if [ "$backend" = kernel ]; then
		plugins="kernel-netlink"
	else
		# kernel-libipsec needs kernel-netlink too (routes, addresses).
		plugins="kernel-libipsec kernel-netlink"
	fi
	render "$CONF_DIR/strongswan.conf.in" "$dir/strongswan.conf" DIR="$dir" KERNEL_PLUGINS="$plugins"
	spawn "charon-$host" ip netns exec "$ns" unshare --mount --propagation private \
		sh -c 'mount --bind "$1/run" /run && STRONGSWAN_CONF="$1/strongswan.conf" exec "$2"' \
		sh "$dir" "$CHARON"
	eval "CHARON_PID_$host=$SPAWNED_PID"
	wait_for 10 test -S "$dir/charon.vici" || die "charon ($host) did not open its vici socket"
}

# swan_load HOST FILE: `swanctl --load-all` of FILE into HOST's charon, with
# HOST's throwaway directory as swanctl's (no /etc/swanctl). Fails on any
# error or failure swanctl reports.
swan_load() {
	local dir=$WORK/$1 file=$2 sub
	# swanctl reads credentials from the directories next to its swanctl.conf.
	for sub in x509 x509ca x509ocsp x509aa x509ac x509crl pubkey private rsa ecdsa bliss pkcs8 pkcs12; do
		mkdir -p "$dir/swanctl/$sub"
	done
	cp "$file" "$dir/swanctl/swanctl.conf"
	if ! SWANCTL_DIR="$dir/swanctl" swan "$1" --load-all --file "$dir/swanctl/swanctl.conf" >"$dir/load.out" 2>&1 ||
		grep -qiE 'fail|error|invalid' "$dir/load.out"; then
		cat "$dir/load.out" >&2
		return 1
	fi
}

# swan HOST COMMAND [ARGS...]: swanctl against HOST's charon (swanctl wants
# the command first, then its options).
swan() {
	local dir=$WORK/$1 cmd=$2
	shift 2
	STRONGSWAN_CONF="$dir/strongswan.conf" swanctl "$cmd" --uri "unix://$dir/charon.vici" "$@"
}

# sa_state HOST CONN CHILD: "IKE=<state> CHILD=<state>" of one connection.
sa_state() {
	local out ike child
	out=$(swan "$1" --list-sas --ike "$2" 2>/dev/null || true)
	ike=$(sed -n "s/^$2: #[0-9]*, \([A-Z_]*\).*/\1/p" <<<"$out" | head -1)
	child=$(sed -n "s/^ *$3: #[0-9]*, reqid [0-9]*, \([A-Z_]*\).*/\1/p" <<<"$out" | head -1)
	echo "IKE=${ike:-none} CHILD=${child:-none}"
}

# ---- Kerberos ----------------------------------------------------------------

# kdc_start NS ADDR: a throwaway MIT KDC (realm INTEROP.TEST, principal
# alice / password alice-pw) in NS; sets KRB5_CONFIG for clients.
kdc_start() {
	local ns=$1 addr=$2 dir=$WORK/kdc
	mkdir -p "$dir"
	render "$CONF_DIR/kdc.conf.in" "$dir/kdc.conf" DIR="$dir"
	render "$CONF_DIR/krb5.conf.in" "$dir/krb5.conf" KDC="$addr"
	: >"$dir/kadm5.acl"
	export KRB5_CONFIG=$dir/krb5.conf KRB5_KDC_PROFILE=$dir/kdc.conf
	kdb5_util create -s -r INTEROP.TEST -P "master-$$" >"$dir/create.out" 2>&1 ||
		{ cat "$dir/create.out"; die "kdb5_util create failed"; }
	kadmin.local -q "addprinc -pw alice-pw alice" >"$dir/addprinc.out" 2>&1 ||
		{ cat "$dir/addprinc.out"; die "kadmin.local addprinc failed"; }
	spawn krb5kdc ip netns exec "$ns" krb5kdc -n -P "$dir/kdc.pid"
	# The KDC answers once it listens on 88 (no client yet: probe the socket).
	wait_for 10 sh -c "ip netns exec '$ns' ss -lun | grep -q ':88 '" || die "krb5kdc is not listening on 88"
}

# kinit_in NS: alice's kinit from NS, the password on stdin; a fresh ccache.
kinit_in() {
	local cc=$WORK/kdc/ccache.$RANDOM
	echo alice-pw | KRB5CCNAME="FILE:$cc" timeout 8 ip netns exec "$1" kinit alice &&
		KRB5CCNAME="FILE:$cc" klist | grep -q 'krbtgt/INTEROP.TEST@INTEROP.TEST'
}

# ---- multicast (mDNS) and broadcast (DHCP) --------------------------------

# A minimal mDNS pair in python3 (no avahi daemon, no D-Bus): the responder
# answers one A-record query for secpol-interop.local with a multicast
# response, the querier sends the query to 224.0.0.251:5353 and waits for it.
_MDNS_PY='
import socket, struct, sys, time
role, addr = sys.argv[1], sys.argv[2]
GROUP, PORT, NAME = "224.0.0.251", 5353, "secpol-interop.local"
def qname(n):
    return b"".join(bytes([len(p)]) + p.encode() for p in n.split(".")) + b"\0"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", PORT))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(GROUP) + socket.inet_aton(addr))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(addr))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
if role == "respond":
    s.settimeout(30)
    while True:
        data, src = s.recvfrom(9000)
        if len(data) > 12 and not data[2] & 0x80 and qname(NAME) in data:
            ans = qname(NAME) + struct.pack("!HHIH", 1, 0x8001, 120, 4) + socket.inet_aton(addr)
            s.sendto(struct.pack("!6H", 0, 0x8400, 0, 1, 0, 0) + ans, (GROUP, PORT))
            print("answered query from", src[0], flush=True)
else:
    s.settimeout(1.0)
    q = struct.pack("!6H", 0, 0, 1, 0, 0, 0) + qname(NAME) + struct.pack("!HH", 1, 1)
    deadline = time.time() + float(sys.argv[3])
    while time.time() < deadline:
        s.sendto(q, (GROUP, PORT))
        try:
            data, src = s.recvfrom(9000)
        except socket.timeout:
            continue
        if data[2] & 0x80 and qname(NAME) in data:
            print("answer from", src[0], socket.inet_ntoa(data[-4:]))
            sys.exit(0)
    sys.exit(1)
'

# mdns_responder NS ADDR: the responder in the background.
mdns_responder() {
	spawn mdns-responder ip netns exec "$1" "$PYTHON" -c "$_MDNS_PY" respond "$2"
	sleep 0.5
}

# mdns_query NS ADDR SECONDS: one resolution, succeeds when answered.
mdns_query() {
	ip netns exec "$1" "$PYTHON" -c "$_MDNS_PY" query "$2" "$3"
}

# dnsmasq_start NS DEV [unicast]: a DHCP server only (port=0: no DNS) on DEV,
# handing out 10.203.0.100-150. By default with dhcp-broadcast: replies go to
# 255.255.255.255. With "unicast" it answers as servers usually do, to the
# address it offers — which the client does not have yet, so the reply is
# neither local nor broadcast and no Windows exemption covers it (see
# docs/interop.md). Sets DNSMASQ_PID.
dnsmasq_start() {
	local bcast=--dhcp-broadcast
	[ "${3:-}" = unicast ] && bcast=
	spawn dnsmasq ip netns exec "$1" dnsmasq --no-daemon --conf-file=/dev/null --port=0 \
		--interface="$2" --bind-interfaces --user=root \
		--dhcp-range=10.203.0.100,10.203.0.150,255.255.255.0,120 $bcast \
		--dhcp-leasefile="$WORK/dnsmasq.leases" --pid-file="$WORK/dnsmasq.pid" \
		--log-dhcp --log-facility=-
	DNSMASQ_PID=$SPAWNED_PID
	wait_for 10 sh -c "ip netns exec '$1' ss -lun | grep -q ':67 '" || die "dnsmasq is not listening on 67"
}

# dhcp_lease NS DEV: one DHCP exchange with dhclient (its script a no-op: the
# lease is only recorded, the interface is left alone); succeeds on DHCPACK.
dhcp_lease() {
	local ns=$1 dev=$2 n=$RANDOM
	render "$CONF_DIR/dhclient.conf.in" "$WORK/dhclient.conf" TIMEOUT=6
	at_cleanup "[ -f '$WORK/dhclient.$n.pid' ] && kill_wait \$(cat '$WORK/dhclient.$n.pid')"
	ip netns exec "$ns" dhclient -1 -v -sf /bin/true -cf "$WORK/dhclient.conf" \
		-lf "$WORK/dhclient.$n.leases" -pf "$WORK/dhclient.$n.pid" "$dev" >"$WORK/dhclient.$n.log" 2>&1 || {
		tail -5 "$WORK/dhclient.$n.log"
		return 1
	}
	# On success dhclient daemonised to renew later: stop it now, and wait,
	# so that it is not still writing into $WORK when cleanup removes it.
	[ -f "$WORK/dhclient.$n.pid" ] && kill_wait "$(cat "$WORK/dhclient.$n.pid")"
	grep -h 'fixed-address' "$WORK/dhclient.$n.leases" | tail -1
}

# ---- crafted-but-real exempt traffic for the forwarding test ---------------

# The three kinds of traffic KB253169 exempts by port or protocol, sent with
# ordinary sockets: "ike" UDP 500->500, "krb" UDP ->88, "rsvp" IP protocol 46.
_XSEND_PY='
import socket, sys
kind, src, dst = sys.argv[1:4]
msg = ("secpol-interop " + kind).encode()
if kind == "rsvp":
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 46)
    s.bind((src, 0))
    s.sendto(msg, (dst, 0))
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, 500 if kind == "ike" else 0))
    s.sendto(msg, (dst, 500 if kind == "ike" else 88))
'
_XSINK_PY='
import select, socket, sys
out = open(sys.argv[1], "a", buffering=1)
socks = []
for port in (500, 88):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    socks.append(s)
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, 46)
socks.append(r)
while True:
    for s in select.select(socks, [], [])[0]:
        data, src = s.recvfrom(2048)
        if s is r:
            data = data[(data[0] & 15) * 4:]
        if data.startswith(b"secpol-interop "):
            out.write("%s %s\n" % (data.split()[1].decode(), src[0]))
'

# xsink NS: records every ike/krb/rsvp message NS receives in $WORK/sink.NS.
xsink() {
	: >"$WORK/sink.$1"
	spawn "sink-$1" ip netns exec "$1" "$PYTHON" -c "$_XSINK_PY" "$WORK/sink.$1"
}

# xsend NS KIND SRC DST
xsend() {
	ip netns exec "$1" "$PYTHON" -c "$_XSEND_PY" "$2" "$3" "$4"
}

# xgot NS KIND SRC: how many KIND messages from SRC NS's sink has seen.
xgot() {
	grep -c "^$2 $3\$" "$WORK/sink.$1" || true
}
