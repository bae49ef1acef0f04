#!/usr/bin/env bash
# interop.swanctl_load — every shipped policy with secure filters
# (policies/*.pol), exported with `secpol export swanctl`, is read by a real
# charon: `swanctl --load-all` against a throwaway config directory must load
# it without an error, every exported child must be listed by charon and
# installed as a trap policy (start_action = trap), and the kernel must hold
# XFRM policies for the exported selectors.
#
# charon runs with kernel-netlink: trap policies are XFRM policies, which this
# kernel holds even without ESP (only SAs would need it), so the selectors the
# export wrote become real kernel policies here.
source "$(dirname "$0")/lib.sh"
trap cleanup EXIT INT TERM

require_root
require_tools ip nsenter unshare swanctl "$CHARON"
require_secpol

NS=${TAG}sw V1=${TAG}s1 V2=${TAG}s2
LOCAL=10.0.0.1
log "namespace $NS, this host $LOCAL"
ns_new "$NS"
# Both ends in the namespace: an address for `--local` and a default route.
ip link add "$V1" type veth peer name "$V2"
ip link set "$V1" netns "$NS"
ip link set "$V2" netns "$NS"
ip -n "$NS" addr add "$LOCAL/24" dev "$V1"
ip -n "$NS" link set "$V1" up
ip -n "$NS" link set "$V2" up
ip -n "$NS" route add default via 10.0.0.2 dev "$V1"

charon_start h "$NS" kernel

exported=0
for pol in "$SECPOL_SOURCE_DIR"/policies/*.pol; do
	name=$(basename "$pol" .pol)
	conf=$WORK/h/$name.swanctl.conf
	"$SECPOL" export swanctl "$pol" --local "$LOCAL" -o "$conf" 2>"$WORK/$name.export.err" ||
		{ cat "$WORK/$name.export.err"; die "secpol export swanctl $name failed"; }
	children=$(grep -c 'start_action = trap' "$conf" || true)
	if [ "$children" -eq 0 ]; then
		note "$name: no secure filter for IKE, nothing to load"
		continue
	fi
	exported=$((exported + 1))
	log "$name: $children exported child(ren)"
	sed 's/^/   export: /' "$WORK/$name.export.err"
	swan_load h "$conf" || die "$name: swanctl --load-all failed on the exported configuration"
	note "ok: swanctl --load-all: $(tr '\n' ' ' <"$WORK/h/load.out")"
	# Each child is a connection's child in charon and a trap policy.
	conns=$(swan h --list-conns)
	for child in $(awk '/^\t\t\t[A-Za-z0-9_-]+ \{$/ {print $1}' "$conf"); do
		grep -qE "^ +$child: " <<<"$conns" || { echo "$conns"; die "$name: child $child not loaded"; }
	done
	# --list-pols lists trap policies as "CONN/CHILD, MODE".
	traps=$(swan h --list-pols | grep -cE '^[^ ]+/[^ ]+, (TRANSPORT|TUNNEL)' || true)
	assert_eq "$name: trap policies installed" "$traps" "$children"
	# The first exported child's remote selector is an XFRM policy's destination.
	ts=$(sed -n 's/^\t*remote_ts = \([^,[]*\).*/\1/p' "$conf" | head -1)
	pols=$(ip -n "$NS" xfrm policy)
	grep -qF "dst $ts " <<<"$pols" || { echo "$pols"; die "$name: no XFRM policy towards $ts"; }
	note "ok: XFRM policy towards $ts"
done
assert_ge "shipped policies with secure filters loaded" "$exported" 1
