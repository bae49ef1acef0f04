# Every failure gets one error line naming the interface, a non-zero exit,
# and leaves the interface exactly as it was: missing interface, no root, no
# bpffs, a bad policy, a verifier rejection, an XDP program of someone else,
# and a tc failure after XDP (SECPOL_FAULT=after-xdp) on a fresh load and
# during a swap.
source "$(dirname "$0")/lib.sh"
e2e_setup fail

cat >"$E2E_TMP/p1.pol" <<'POL'
policy "fail one"
exemptions windows2000
default permit
block proto udp from any to me port 7002 "udp-blocked"
POL
sed 's/fail one/fail two/; s/7002/7003/' "$E2E_TMP/p1.pol" >"$E2E_TMP/p2.pol"
printf 'policy "broken"\npermit proto udp from nowhere to me port 99999 "x"\n' >"$E2E_TMP/bad.pol"

# expect_error WHAT PATTERN CMD...: non-zero exit, exactly one stderr line matching PATTERN.
expect_error() {
    local what=$1 pattern=$2
    shift 2
    "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err" && fail "$what: succeeded, expected a failure"
    local lines
    lines=$(grep -c . "$E2E_TMP/err")
    [[ $lines == 1 ]] || fail "$what: expected one error line, got $lines: $(cat "$E2E_TMP/err")"
    grep -Eq "$pattern" "$E2E_TMP/err" || fail "$what: error '$(cat "$E2E_TMP/err")' does not match /$pattern/"
    say "ok: $what -> $(cat "$E2E_TMP/err")"
}
# nothing_attached: the interface has no program, filter, pin or state of ours.
nothing_attached() {
    ip -n "$NSA" link show "$VA" | grep -q "prog/xdp" && fail "$1: XDP program left attached"
    [[ -z $(tc -n "$NSA" filter show dev "$VA" egress 2>/dev/null) ]] || fail "$1: tc filter left"
    [[ ! -e /sys/fs/bpf/secpol/$VA ]] || fail "$1: pins left: $(ls /sys/fs/bpf/secpol/$VA)"
    [[ ! -e /run/secpol/$VA ]] || fail "$1: state left"
    say "ok: $1 left nothing behind"
}
snapshot() {  # the ids and label now attached, one line
    secpolA status --dev "$VA" --json >"$E2E_TMP/st.json" || fail "status"
    jget "$E2E_TMP/st.json" 'd["interfaces"][0]["policy"], d["interfaces"][0]["xdp"]["prog_id"], d["interfaces"][0]["tc"]["prog_id"], d["interfaces"][0]["xdp"]["attached"], d["interfaces"][0]["tc"]["attached"]'
}

expect_error "missing interface" "nosuch0.*no such interface" secpolA load "$E2E_TMP/p1.pol" --dev nosuch0
expect_error "not root" "$VA.*root" inA setpriv --reuid=65534 --regid=65534 --clear-groups "$SECPOL" load "$E2E_TMP/p1.pol" --dev "$VA"
mkdir -p "$E2E_TMP/notbpffs"
SECPOL_BPFFS="$E2E_TMP/notbpffs" expect_error "no bpffs" "$VA.*no bpffs" secpolA load "$E2E_TMP/p1.pol" --dev "$VA"
# A policy with errors: its diagnostics, then nothing loaded.
secpolA load "$E2E_TMP/bad.pol" --dev "$VA" 2>"$E2E_TMP/err" && fail "bad policy loaded"
grep -q "$VA.*policy has errors" "$E2E_TMP/err" || fail "bad policy: no clear error line: $(cat "$E2E_TMP/err")"
say "ok: bad policy -> $(tail -1 "$E2E_TMP/err")"
nothing_attached "bad policy"
SECPOL_FAULT=verifier expect_error "verifier rejection" "$VA.*verifier rejected" secpolA load "$E2E_TMP/p1.pol" --dev "$VA"
nothing_attached "verifier rejection"
SECPOL_FAULT=after-xdp expect_error "tc failure after XDP (fresh load)" "$VA.*tc egress" secpolA load "$E2E_TMP/p1.pol" --dev "$VA"
nothing_attached "tc failure after XDP"
SECPOL_FAULT=before-pin expect_error "pin failure (fresh load)" "$VA.*pin" secpolA load "$E2E_TMP/p1.pol" --dev "$VA"
nothing_attached "pin failure"

# Failures during a swap keep the policy that was there, attached and counting.
secpolA load "$E2E_TMP/p1.pol" --dev "$VA" >/dev/null || fail "load p1"
before=$(snapshot)
say "attached: $before"
SECPOL_FAULT=after-xdp expect_error "tc failure after XDP (swap)" "$VA.*tc egress" secpolA load "$E2E_TMP/p2.pol" --dev "$VA"
expect_eq "$(snapshot)" "$before" "policy after a failed swap (tc)"
SECPOL_FAULT=before-pin expect_error "pin failure (swap)" "$VA.*pin" secpolA load "$E2E_TMP/p2.pol" --dev "$VA"
expect_eq "$(snapshot)" "$before" "policy after a failed swap (pins)"
SECPOL_FAULT=verifier expect_error "verifier rejection (swap)" "$VA.*verifier rejected" secpolA load "$E2E_TMP/p2.pol" --dev "$VA"
expect_eq "$(snapshot)" "$before" "policy after a failed swap (verifier)"
start_sink A 10 7002
pyB send "$IPA" 7002 4 >/dev/null
stop_sinks
expect_eq "$(sink_count A 7002)" 0 "the old policy still blocks"
secpolA counters --dev "$VA" --json >"$E2E_TMP/c.json" || fail "counters"
expect_eq "$(jget "$E2E_TMP/c.json" "d['rules'][0]['in']['block']['packets']")" 4 "old policy still counts"
secpolA unload --dev "$VA" >/dev/null || fail "unload"

# An XDP program of someone else is neither replaced nor removed.
empty_obj="$(dirname "$SECPOL")/bpf/empty.bpf.o"
[[ -f $empty_obj ]] || fail "test object $empty_obj missing (build the bpf_test_objs target)"
ip -n "$NSA" link set dev "$VA" xdp obj "$empty_obj" sec xdp || fail "attach foreign XDP program"
foreign=$(ip -n "$NSA" link show "$VA" | grep -o "prog/xdp id [0-9]*")
expect_error "foreign XDP program" "$VA.*not loaded by secpol" secpolA load "$E2E_TMP/p1.pol" --dev "$VA"
expect_eq "$(ip -n "$NSA" link show "$VA" | grep -o "prog/xdp id [0-9]*")" "$foreign" "foreign XDP program after load"
[[ -z $(tc -n "$NSA" filter show dev "$VA" egress 2>/dev/null) ]] || fail "tc filter attached next to a foreign XDP program"
secpolA unload --dev "$VA" >/dev/null || fail "unload with a foreign program"
expect_eq "$(ip -n "$NSA" link show "$VA" | grep -o "prog/xdp id [0-9]*")" "$foreign" "foreign XDP program after unload"
ip -n "$NSA" link set dev "$VA" xdp off
