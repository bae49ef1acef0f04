# load --confirm (issue 13 item 6), the other outcomes: `secpol confirm` in
# time keeps B past the deadline (timer gone, no state left); confirm with
# nothing pending fails (exit 1, JSON error); a second load --confirm
# restarts the deadline and keeps the revert target; unload cancels a
# pending revert; load --confirm on an interface without a policy unloads
# at the deadline.
source "$(dirname "$0")/lib.sh"
e2e_setup confirmkp

for x in A B C; do
    port=7001
    action=permit
    [[ $x == B || $x == C ]] && action=block
    printf 'policy "confirm %s"\ndefault permit\n%s proto udp from any to me port %s "%s-%s"\n' \
        "$x" "$action" "$port" "$x" "$port" >"$E2E_TMP/$x.pol"
done
export SECPOL_CONFIRM_LOG=$E2E_TMP/confirm.log
policy() { secpolA status --dev "$VA" --json 2>/dev/null | $E2E_PY -c 'import json,sys; print(json.load(sys.stdin)["interfaces"][0]["policy"])' 2>/dev/null || echo none; }
# A process that has exited (a zombie until init reaps it: the timer is init's child) is not running.
running() { [[ -r /proc/$1/stat ]] && [[ $(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1) != [ZX] ]]; }
reaches() {  # datagrams to 7001 that arrive, of 3
    start_sink A 5 7001
    pyB send "$IPA" 7001 3 >/dev/null
    stop_sinks
    sink_count A 7001
}

# Nothing pending: a clear error, exit 1.
secpolA confirm --dev "$VA" >"$E2E_TMP/o" 2>"$E2E_TMP/e"
expect_eq "$?" 1 "confirm with nothing loaded: exit"
grep -q "no confirmation pending" "$E2E_TMP/e" || fail "confirm message: $(cat "$E2E_TMP/e")"
secpolA confirm --dev "$VA" --json >"$E2E_TMP/o"
expect_eq "$?" 1 "confirm --json with nothing pending: exit"
expect_eq "$(jget "$E2E_TMP/o" '"no confirmation pending" in d["error"]')" True "confirm --json: error on stdout"
secpolA load "$E2E_TMP/A.pol" --dev "$VA" --confirm 0 >/dev/null 2>&1
expect_eq "$?" 2 "load --confirm 0: usage"

# Confirmed in time: B stays past the deadline.
secpolA load "$E2E_TMP/A.pol" --dev "$VA" >/dev/null || fail "load A"
secpolA load "$E2E_TMP/B.pol" --dev "$VA" --confirm 2 --json >"$E2E_TMP/l.json" || fail "load B --confirm"
expect_eq "$(jget "$E2E_TMP/l.json" 'd["pending_confirm"]["revert_to"]["policy"]')" "confirm A" "load --json: revert target"
timer=$(jget "$E2E_TMP/l.json" 'd["pending_confirm"]["timer_pid"]')
secpolA confirm --dev "$VA" --json >"$E2E_TMP/c.json" || fail "confirm: $(cat "$E2E_TMP/c.json")"
expect_eq "$(jget "$E2E_TMP/c.json" 'd["confirmed"]')" True "confirm --json"
expect_eq "$(jget "$E2E_TMP/c.json" 'd["policy"]')" "confirm B" "confirmed policy"
for _ in $(seq 20); do running "$timer" || break; sleep 0.05; done
running "$timer" && fail "timer $timer still runs after confirm"
[[ ! -e /run/secpol/$VA/confirm.json && ! -e /run/secpol/$VA/confirm.o ]] || fail "confirmation files left after confirm"
sleep 2.2
expect_eq "$(policy)" "confirm B" "policy after the deadline, confirmed"
expect_eq "$(reaches)" 0 "datagrams to 7001 under confirmed B"
secpolA confirm --dev "$VA" >/dev/null 2>&1
expect_eq "$?" 1 "a second confirm: exit"

# A second load --confirm: the deadline restarts, the target stays B (the last confirmed).
secpolA load "$E2E_TMP/A.pol" --dev "$VA" --confirm 2 >/dev/null || fail "load A --confirm"
sleep 1
secpolA load "$E2E_TMP/C.pol" --dev "$VA" --confirm 2 --json >"$E2E_TMP/l2.json" || fail "load C --confirm"
t0=$(date +%s.%N)
expect_eq "$(jget "$E2E_TMP/l2.json" 'd["pending_confirm"]["revert_to"]["policy"]')" "confirm B" "second --confirm: target"
sleep 1.3  # past the first deadline
expect_eq "$(policy)" "confirm C" "policy past the first deadline (restarted)"
back=""
for _ in $(seq 40); do
    [[ $(policy) == "confirm B" ]] && { back=$(echo "$(date +%s.%N) - $t0" | bc); break; }
    sleep 0.1
done
[[ -n $back ]] || fail "B not back after the second deadline: $(secpolA status --dev "$VA"); $(cat "$E2E_TMP/confirm.log")"
(($(echo "$back <= 3.0" | bc))) || fail "B back after $back s (deadline 2 s)"
say "ok: B back $back s after the second load --confirm 2"

# A load without --confirm confirms (the daemon's loads are such loads).
secpolA load "$E2E_TMP/A.pol" --dev "$VA" --confirm 1 --json >"$E2E_TMP/l5.json" || fail "load A --confirm"
timer=$(jget "$E2E_TMP/l5.json" 'd["pending_confirm"]["timer_pid"]')
secpolA load "$E2E_TMP/C.pol" --dev "$VA" 2>"$E2E_TMP/e5" >/dev/null || fail "plain load C"
grep -q 'the pending confirmation of "confirm A" is cancelled' "$E2E_TMP/e5" || fail "plain load: $(cat "$E2E_TMP/e5")"
for _ in $(seq 20); do running "$timer" || break; sleep 0.05; done
running "$timer" && fail "timer $timer still runs after a plain load"
sleep 1.1
expect_eq "$(policy)" "confirm C" "policy past the deadline after a plain load"

# unload cancels.
secpolA load "$E2E_TMP/A.pol" --dev "$VA" --confirm 1 --json >"$E2E_TMP/l3.json" || fail "load A --confirm"
timer=$(jget "$E2E_TMP/l3.json" 'd["pending_confirm"]["timer_pid"]')
secpolA unload --dev "$VA" >/dev/null || fail "unload"
for _ in $(seq 20); do running "$timer" || break; sleep 0.05; done
running "$timer" && fail "timer $timer still runs after unload"
sleep 1.3
expect_eq "$(policy)" none "policy after unload and the deadline"
[[ ! -e /run/secpol/$VA ]] || fail "state dir left: $(ls -la /run/secpol/$VA)"

# Nothing loaded before: the revert unloads.
secpolA load "$E2E_TMP/B.pol" --dev "$VA" --confirm 1 >"$E2E_TMP/l4" || fail "load B --confirm on a bare interface"
grep -q "unconfirmed: unloads" "$E2E_TMP/l4" || fail "load output: $(cat "$E2E_TMP/l4")"
for _ in $(seq 25); do [[ $(policy) == none ]] && break; sleep 0.1; done
expect_eq "$(policy)" none "policy after an unconfirmed first load"
[[ ! -e /run/secpol/$VA && ! -e /sys/fs/bpf/secpol/$VA ]] || fail "state or pins left after the revert unloaded"
ip -n "$NSA" link show "$VA" | grep -q "prog/xdp" && fail "XDP still attached after the revert unloaded"
expect_eq "$(reaches)" 3 "datagrams to 7001 with no policy"
grep -q "unloaded policy \"confirm B\" (there was no policy before it)" "$E2E_TMP/confirm.log" || fail "log: $(cat "$E2E_TMP/confirm.log")"

# A revert that fails (the kernel's verifier rejects the previous policy,
# SECPOL_FAULT=revert-verifier) leaves the new policy loaded and says so.
secpolA load "$E2E_TMP/A.pol" --dev "$VA" >/dev/null || fail "load A"
SECPOL_FAULT=revert-verifier secpolA load "$E2E_TMP/B.pol" --dev "$VA" --confirm 1 >/dev/null || fail "load B --confirm"
for _ in $(seq 25); do grep -q "stays loaded" "$E2E_TMP/confirm.log" && break; sleep 0.1; done
say "timer log: $(tail -1 "$E2E_TMP/confirm.log")"
grep -q 'putting back policy "confirm A" failed: .*verifier rejected.*; policy "confirm B" stays loaded, unconfirmed' \
    "$E2E_TMP/confirm.log" || fail "log of a failed revert: $(cat "$E2E_TMP/confirm.log")"
expect_eq "$(policy)" "confirm B" "policy after a failed revert"
expect_eq "$(reaches)" 0 "datagrams to 7001 after a failed revert (B still filters)"
secpolA status --dev "$VA" --json >"$E2E_TMP/s.json"
expect_eq "$(jget "$E2E_TMP/s.json" 'd["interfaces"][0]["pending_confirm"]')" None "pending after a failed revert"
expect_eq "$(jget "$E2E_TMP/s.json" 'd["interfaces"][0]["xdp"]["attached"] and d["interfaces"][0]["tc"]["attached"]')" True \
    "B attached after a failed revert"
say "ok: confirm, restart, unload, first-load and failed reverts"
