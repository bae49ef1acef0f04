# Concurrent secpol invocations on one interface are serialised by the lock:
# parallel loads all succeed as a sequence of swaps, and the interface ends
# with exactly one policy attached and consistent state.
source "$(dirname "$0")/lib.sh"
e2e_setup lock

for n in 1 2 3 4; do
    printf 'policy "lock %s"\nexemptions windows2000\ndefault permit\nblock proto udp from any to me port 70%02d "r%s"\n' \
        "$n" "$n" "$n" >"$E2E_TMP/p$n.pol"
done
secpolA load "$E2E_TMP/p1.pol" --dev "$VA" >/dev/null || fail "first load"
pids=""
for n in 1 2 3 4 1 2 3 4; do
    secpolA load "$E2E_TMP/p$n.pol" --dev "$VA" >"$E2E_TMP/out.$n.$RANDOM" 2>&1 &
    pids="$pids $!"
done
secpolA counters --dev "$VA" --json >/dev/null &
pids="$pids $!"
rc=0
for p in $pids; do wait "$p" || rc=1; done
((rc == 0)) || fail "a parallel invocation failed: $(cat "$E2E_TMP"/out.*)"
expect_eq "$(grep -l "replaced with" "$E2E_TMP"/out.* | wc -l)" 8 "parallel loads that replaced the policy"
secpolA status --dev "$VA" --json >"$E2E_TMP/s.json" || fail "status"
expect_eq "$(jget "$E2E_TMP/s.json" 'd["interfaces"][0]["generation"]')" 9 "generation after 1 + 8 loads"
expect_eq "$(jget "$E2E_TMP/s.json" 'd["interfaces"][0]["xdp"]["attached"] and d["interfaces"][0]["tc"]["attached"]')" True "attached"
expect_eq "$(tc -n "$NSA" filter show dev "$VA" egress | grep -c "secpol_egress")" 1 "tc filters"
expect_eq "$(ls /sys/fs/bpf/secpol/$VA | grep -c __new)" 0 "temporary pins"
