# load --dry-run compiles and passes the verifier, then attaches nothing: no
# XDP program, no tc filter, no pins, no state; a policy that does not
# compile fails it; a real load afterwards still works.
source "$(dirname "$0")/lib.sh"
e2e_setup dryrun

cat >"$E2E_TMP/p.pol" <<'POL'
policy "e2e dry run"
exemptions windows2000
default permit
block proto udp from any to me port 7002 "udp-blocked"
POL
out=$(secpolA load "$E2E_TMP/p.pol" --dev "$VA" --dry-run) || fail "dry run failed: $out"
say "$out"
[[ $out == *"passed the verifier"*"nothing attached"* ]] || fail "dry run output: $out"
ip -n "$NSA" link show "$VA" | grep -q "prog/xdp" && fail "dry run attached XDP: $(ip -n "$NSA" link show "$VA")"
[[ -z $(tc -n "$NSA" filter show dev "$VA" egress) ]] || fail "dry run attached tc: $(tc -n "$NSA" filter show dev "$VA" egress)"
[[ ! -e /sys/fs/bpf/secpol/$VA ]] || fail "dry run left pins"
[[ ! -e /run/secpol/$VA/state.json ]] || fail "dry run left state"
secpolA status --dev "$VA" >/dev/null 2>&1 && fail "status says something is loaded after a dry run"
# Traffic is untouched: the port the policy would block is reachable.
start_sink A 5 7002
pyB send "$IPA" 7002 3 >/dev/null
stop_sinks
expect_eq "$(sink_count A 7002)" 3 "datagrams to the port after a dry run"
say "ok: dry run attached nothing"

# The SSH guard warns at load, from a policy file (compiled once, in
# process) and from a compiled object (its source compiled again).
cat >"$E2E_TMP/ssh.pol" <<'POL'
policy "e2e ssh guard"
exemptions windows2000
default permit
block proto tcp from 198.51.100.0/24 to me port 22 "no ssh from the lab"
POL
"$SECPOL" compile "$E2E_TMP/ssh.pol" -o "$E2E_TMP/ssh.o" >/dev/null || fail "compile ssh.pol"
for input in "$E2E_TMP/ssh.pol" "$E2E_TMP/ssh.o"; do
    out=$(SSH_CONNECTION="198.51.100.9 50022 $IPA 22" secpolA load "$input" --dev "$VA" --dry-run 2>&1) ||
        fail "dry run of $input failed: $out"
    [[ $out == *"$VA: "*"blocks the SSH session you are in"*"no ssh from the lab"* ]] ||
        fail "no SSH warning loading $input: $out"
    out=$(SSH_CONNECTION="203.0.113.5 50022 $IPA 22" secpolA load "$input" --dev "$VA" --dry-run 2>&1) ||
        fail "dry run of $input failed: $out"
    [[ $out != *"SSH session"* ]] || fail "SSH warning for a client the policy lets in ($input): $out"
done
say "ok: the SSH guard warns at load from a policy and from an object"

echo 'policy "bad" default maybe' >"$E2E_TMP/bad.pol"
secpolA load "$E2E_TMP/bad.pol" --dev "$VA" --dry-run >/dev/null 2>&1 && fail "dry run of a broken policy succeeded"

secpolA load "$E2E_TMP/p.pol" --dev "$VA" >/dev/null || fail "real load after the dry run"
ip -n "$NSA" link show "$VA" | grep -q "prog/xdp" || fail "real load attached no XDP"
secpolA unload --dev "$VA" >/dev/null || fail "unload"
say "ok: a real load after the dry run attaches"
