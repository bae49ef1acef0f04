# load --confirm (issue 13 item 6): policy A permits UDP 7001, B blocks it.
# `load B --confirm 2` from a shell whose whole session is then killed: B
# blocks at once, and without `secpol confirm` the detached timer puts A
# back within the deadline + 1 s: traffic passes again, status shows A, A's
# rule has its counts back (the swap to B had retired them), B's are
# retired, and no confirmation state, timer or stale file is left.
source "$(dirname "$0")/lib.sh"
e2e_setup confirmrv
# A process that has exited (a zombie until init reaps it: the timer is init's child) is not running.
running() { [[ -r /proc/$1/stat ]] && [[ $(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1) != [ZX] ]]; }

cat >"$E2E_TMP/a.pol" <<'POL'
policy "confirm A"
default permit
permit proto udp from any to me port 7001 "allow-7001"
POL
cat >"$E2E_TMP/b.pol" <<'POL'
policy "confirm B"
default permit
block proto udp from any to me port 7001 "deny-7001"
POL
export SECPOL_CONFIRM_LOG=$E2E_TMP/confirm.log

# A binds `me` by hand; the revert must bind it the same way (B uses auto).
secpolA load "$E2E_TMP/a.pol" --dev "$VA" --local 10.199.0.1 127.0.0.1 >/dev/null || fail "load A"
start_sink A 5 7001
pyB send "$IPA" 7001 5 >/dev/null
stop_sinks
expect_eq "$(sink_count A 7001)" 5 "datagrams to 7001 under A"

# The load runs in its own session (as an SSH login shell would); once it
# has printed, the whole session is killed. The load sets its deadline
# somewhere between t_start and t0 (the sanitized CLI's exit alone can take
# a few hundred ms): "not before the deadline" is measured from t_start,
# "within the deadline + 1 s" from t0.
t_start=$(date +%s.%N)
(setsid bash -c 'echo $$ >"$1/session"; nsenter --net="/run/netns/$2" "$3" load "$1/b.pol" --dev "$4" --confirm 2 >"$1/load.out" 2>&1; echo done >>"$1/load.out"; sleep 60' \
    _ "$E2E_TMP" "$NSA" "$SECPOL" "$VA" &)
for _ in $(seq 100); do grep -q done "$E2E_TMP/load.out" 2>/dev/null && break; sleep 0.05; done
t0=$(date +%s.%N)
grep -q done "$E2E_TMP/load.out" || fail "load --confirm did not finish: $(cat "$E2E_TMP/load.out")"
say "$(head -3 "$E2E_TMP/load.out")"
grep -q 'unconfirmed: reverts to policy "confirm A"' "$E2E_TMP/load.out" || fail "load output: $(cat "$E2E_TMP/load.out")"
session=$(cat "$E2E_TMP/session")
kill -KILL -- "-$session" 2>/dev/null
sleep 0.1
running "$session" && fail "the load's session still runs"

secpolA status --dev "$VA" --json >"$E2E_TMP/st1.json" || fail "status"
expect_eq "$(jget "$E2E_TMP/st1.json" 'd["interfaces"][0]["policy"]')" "confirm B" "policy while unconfirmed"
expect_ne "$(jget "$E2E_TMP/st1.json" 'd["interfaces"][0]["local_broadcasts"]')" "[]" "B's me (auto, with broadcasts)"
expect_eq "$(jget "$E2E_TMP/st1.json" 'd["interfaces"][0]["pending_confirm"]["revert_to"]["policy"]')" "confirm A" \
    "status: revert target"
expect_eq "$(jget "$E2E_TMP/st1.json" 'd["interfaces"][0]["pending_confirm"]["timer_running"]')" True \
    "status: timer running after its session was killed"
timer=$(jget "$E2E_TMP/st1.json" 'd["interfaces"][0]["pending_confirm"]["timer_pid"]')
expect_ne "$(ps -o sid= -p "$timer" | tr -d ' ')" "$session" "the timer's session"
secpolA status --dev "$VA" | grep -q 'pending confirmation: puts back "confirm A"' || fail "status text: $(secpolA status --dev "$VA")"

start_sink A 5 7001
pyB send "$IPA" 7001 3 >/dev/null
stop_sinks
expect_eq "$(sink_count A 7001)" 0 "datagrams to 7001 under B (unconfirmed)"

# A comes back within the deadline + 1 s; not before the deadline.
back="" since_start=""
while :; do
    now=$(date +%s.%N)
    el=$(echo "$now - $t0" | bc)
    pol=$(secpolA status --dev "$VA" --json 2>/dev/null | $E2E_PY -c 'import json,sys; print(json.load(sys.stdin)["interfaces"][0]["policy"])' 2>/dev/null)
    if [[ $pol == "confirm A" ]]; then back=$el since_start=$(echo "$now - $t_start" | bc); break; fi
    (($(echo "$el > 3.0" | bc))) && break
    sleep 0.1
done
[[ -n $back ]] || fail "A is not back 3 s after load --confirm 2: $(secpolA status --dev "$VA"); log: $(cat "$E2E_TMP/confirm.log")"
(($(echo "$since_start >= 1.8" | bc))) ||
    fail "A came back $since_start s after load --confirm 2 started, before the 2 s deadline"
say "ok: A back $back s after load --confirm 2 returned ($since_start s after it started)"
say "timer log: $(cat "$E2E_TMP/confirm.log")"
grep -q 'put back policy "confirm A"' "$E2E_TMP/confirm.log" || fail "timer log: $(cat "$E2E_TMP/confirm.log")"

start_sink A 5 7001
pyB send "$IPA" 7001 4 >/dev/null
stop_sinks
expect_eq "$(sink_count A 7001)" 4 "datagrams to 7001 after the revert"

secpolA counters --dev "$VA" --json >"$E2E_TMP/c.json" || fail "counters"
expect_eq "$(jget "$E2E_TMP/c.json" 'd["rules"][0]["label"]')" "allow-7001" "rule 0 after the revert"
expect_eq "$(jget "$E2E_TMP/c.json" 'd["rules"][0]["in"]["permit"]["packets"]')" 9 \
    "A's rule: 5 before B, given back, + 4 after the revert"
expect_eq "$(jget "$E2E_TMP/c.json" 'd["retired"]["in"]["packets"]')" 3 "retired: B's rule (3 blocked)"
expect_eq "$(jget "$E2E_TMP/c.json" 'd["generation"]')" 3 "generation (A, B, A)"

secpolA status --dev "$VA" --json >"$E2E_TMP/st2.json" || fail "status"
expect_eq "$(jget "$E2E_TMP/st2.json" 'd["interfaces"][0]["local_addresses"]')" "['10.199.0.1', '127.0.0.1']" \
    "me after the revert (A's --local)"
expect_eq "$(jget "$E2E_TMP/st2.json" 'd["interfaces"][0]["local_broadcasts"]')" "[]" "broadcasts after the revert"
expect_eq "$(jget "$E2E_TMP/st2.json" 'd["interfaces"][0]["pending_confirm"]')" None "pending confirmation after the revert"
for f in confirm.json confirm.o confirm.json.tmp confirm.o.tmp; do
    [[ ! -e /run/secpol/$VA/$f ]] || fail "stale /run/secpol/$VA/$f"
done
for _ in $(seq 20); do running "$timer" || break; sleep 0.1; done
running "$timer" && fail "timer $timer still runs after the revert"
secpolA confirm --dev "$VA" >/dev/null 2>&1 && fail "confirm after the revert succeeded"
say "ok: reverted, nothing left pending"
