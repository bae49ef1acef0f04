# `ip netns exec` traps (issue 12 item 5): it runs secpol in a private mount
# namespace with /sys remounted. unload there used to print "unloaded" while
# the XDP program stayed attached; load on a bpffs mounted there reported
# success and the link died with the namespace. Both are refused with the
# nsenter hint, and unload checks over netlink that nothing of secpol is left
# before it forgets the state.
source "$(dirname "$0")/lib.sh"
e2e_setup netnstrap

OTHER="$E2E_TMP/otherbpf"
trap_cleanup() {
    local rc=$?
    mountpoint -q "$OTHER" && umount "$OTHER"
    (exit $rc)
    e2e_cleanup
}
trap trap_cleanup EXIT

cat >"$E2E_TMP/p.pol" <<'POL'
policy "netns trap"
exemptions windows2000
default permit
block proto udp from any to me port 7002 "udp-blocked"
POL
xdp_attached() { ip -n "$NSA" link show "$VA" | grep -q "prog/xdp"; }

secpolA load "$E2E_TMP/p.pol" --dev "$VA" >/dev/null || fail "load"
xdp_attached || fail "XDP not attached after load"

# 1. unload under ip netns exec: refused, with the hint; nothing changed.
out=$(ip netns exec "$NSA" "$SECPOL" unload --dev "$VA" 2>&1)
rc=$?
expect_eq "$rc" 1 "exit of unload under ip netns exec"
[[ $out == *"nsenter --net=/run/netns/$NSA"* ]] || fail "no nsenter hint: $out"
say "ok: $out"
xdp_attached || fail "XDP detached by the refused unload"
[[ -f /run/secpol/$VA/state.json ]] || fail "state removed by the refused unload"
secpolA status --dev "$VA" --json >"$E2E_TMP/s.json" || fail "status after the refused unload"
expect_eq "$(jget "$E2E_TMP/s.json" 'd["interfaces"][0]["xdp"]["attached"]')" True "XDP attached per status"

# 2. unload whose pins are out of reach (another bpffs): netlink shows the XDP
# program still there, so the state is kept and the exit is 1.
mkdir -p "$OTHER"
mount -t bpf bpf "$OTHER" || fail "mount a second bpffs"
out=$(SECPOL_BPFFS="$OTHER" secpolA unload --dev "$VA" 2>&1)
rc=$?
expect_eq "$rc" 1 "exit of unload that cannot reach the XDP link"
[[ $out == *"still attached"* ]] || fail "unload did not say what is left: $out"
say "ok: $out"
xdp_attached || fail "XDP detached"
[[ -f /run/secpol/$VA/state.json ]] || fail "state removed although XDP is still attached"
umount "$OTHER"

secpolA unload --dev "$VA" >/dev/null || fail "unload through nsenter"
xdp_attached && fail "XDP still attached after unload"

# 3. load on a bpffs mounted inside ip netns exec: refused, nothing attached.
out=$(ip netns exec "$NSA" sh -c 'mount -t bpf bpf /sys/fs/bpf && "$0" load "$1" --dev "$2"' \
    "$SECPOL" "$E2E_TMP/p.pol" "$VA" 2>&1)
rc=$?
expect_eq "$rc" 1 "exit of load on a private bpffs"
[[ $out == *"private to this mount namespace"* && $out == *"nsenter --net=/run/netns/$NSA"* ]] ||
    fail "no private-bpffs refusal: $out"
say "ok: $out"
xdp_attached && fail "XDP attached by the refused load"
[[ -z $(tc -n "$NSA" filter show dev "$VA" egress) ]] || fail "tc filter left by the refused load"
[[ ! -e /run/secpol/$VA ]] || fail "state written by the refused load"

# The same load through nsenter works and lasts after the CLI exits.
secpolA load "$E2E_TMP/p.pol" --dev "$VA" >/dev/null || fail "load through nsenter"
sleep 0.2
xdp_attached || fail "XDP gone after the CLI exited"
say "ok: nsenter load stays attached"
