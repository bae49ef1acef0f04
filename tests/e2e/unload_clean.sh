# Unload removes everything: no XDP program, no tc filter, no pins, no state,
# and the programs are gone from the kernel. Unload is idempotent.
source "$(dirname "$0")/lib.sh"
e2e_setup unload

cat >"$E2E_TMP/p.pol" <<'POL'
policy "e2e unload"
exemptions windows2000
default permit
block proto udp from any to me port 7002 "udp-blocked"
POL
secpolA load "$E2E_TMP/p.pol" --dev "$VA" || fail "load"
secpolA status --dev "$VA" --json >"$E2E_TMP/s.json" || fail "status"
xdp_id=$(jget "$E2E_TMP/s.json" 'd["interfaces"][0]["xdp"]["prog_id"]')
tc_id=$(jget "$E2E_TMP/s.json" 'd["interfaces"][0]["tc"]["prog_id"]')
link_id=$(jget "$E2E_TMP/s.json" 'd["interfaces"][0]["xdp"]["link_id"]')
[[ -d /sys/fs/bpf/secpol/$VA ]] || fail "no pin directory after load"
[[ -f /run/secpol/$VA/state.json ]] || fail "no state after load"
[[ -f /run/secpol/$VA/policy.pol ]] || fail "no policy copy after load"
bpftool prog show id "$xdp_id" >/dev/null || fail "XDP program $xdp_id not in the kernel"

secpolA unload --dev "$VA" || fail "unload"
[[ ! -e /sys/fs/bpf/secpol/$VA ]] || fail "pins left: $(ls /sys/fs/bpf/secpol/$VA)"
[[ ! -e /run/secpol/$VA ]] || fail "state left: $(ls /run/secpol/$VA)"
ip -n "$NSA" link show "$VA" | grep -q "prog/xdp" && fail "XDP program still attached: $(ip -n "$NSA" link show "$VA")"
[[ -z $(tc -n "$NSA" filter show dev "$VA" egress) ]] || fail "tc filter left: $(tc -n "$NSA" filter show dev "$VA" egress)"
# The kernel frees programs and the link asynchronously (RCU): give it a moment.
for i in $(seq 50); do
    bpftool prog show id "$xdp_id" >/dev/null 2>&1 || bpftool prog show id "$tc_id" >/dev/null 2>&1 ||
        bpftool link show id "$link_id" >/dev/null 2>&1 || break
    sleep 0.1
done
bpftool prog show id "$xdp_id" >/dev/null 2>&1 && fail "XDP program $xdp_id still in the kernel"
bpftool prog show id "$tc_id" >/dev/null 2>&1 && fail "tc program $tc_id still in the kernel"
bpftool link show id "$link_id" >/dev/null 2>&1 && fail "XDP link $link_id still in the kernel"
say "ok: no pins, no state, no XDP program, no tc filter, programs freed"

out=$(secpolA unload --dev "$VA") || fail "second unload failed"
say "ok: second unload: $out"
secpolA status --dev "$VA" >/dev/null 2>&1 && fail "status says something is loaded"
# Traffic flows unfiltered again: the port the policy blocked is reachable.
start_sink A 10 7002
pyB send "$IPA" 7002 3 >/dev/null
stop_sinks
expect_eq "$(sink_count A 7002)" 3 "datagrams to the formerly blocked port"

# Load again after unload works (nothing stale in the way), and unload when the
# interface is gone still cleans up.
secpolA load "$E2E_TMP/p.pol" --dev "$VA" || fail "load after unload"
ip -n "$NSA" link del "$VA"
secpolA unload --dev "$VA" || fail "unload of a deleted interface"
[[ ! -e /sys/fs/bpf/secpol/$VA && ! -e /run/secpol/$VA ]] || fail "pins or state left after the interface vanished"
say "ok: unload after the interface was deleted"
