# unload housekeeping and the CLI around load/unload (issue 12 items 8, 14,
# 15, 16): the clsact qdisc secpol created goes with the policy unless another
# filter uses it; one made by someone else stays; no lock file is left;
# unload --all; load/unload --json; `me` bound to no address of the
# interface is warned about and status shows the bound addresses; without
# privileges every verb says so in one line and changes nothing.
source "$(dirname "$0")/lib.sh"
e2e_setup housekeep

cat >"$E2E_TMP/p.pol" <<'POL'
policy "housekeeping"
exemptions windows2000
default permit
block proto udp from any to me port 7002 "udp-blocked"
POL
has_clsact() { tc -n "$NSA" qdisc show dev "$VA" | grep -q clsact; }

# clsact created by secpol, nothing else on it: removed by unload. --json on both.
has_clsact && fail "clsact before the first load"
secpolA load "$E2E_TMP/p.pol" --dev "$VA" --json >"$E2E_TMP/l.json" || fail "load --json"
expect_eq "$(jget "$E2E_TMP/l.json" 'd["action"], d["interface"] == "'"$VA"'"')" "('loaded', True)" "load --json"
expect_eq "$(jget "$E2E_TMP/l.json" '"'"$IPA"'" in d["local_addresses"]')" True "load --json local address"
has_clsact || fail "no clsact after load"
[[ -f /run/secpol/$VA.lock ]] || fail "no lock file while loaded"
secpolA unload --dev "$VA" --json >"$E2E_TMP/u.json" || fail "unload --json"
expect_eq "$(jget "$E2E_TMP/u.json" 'd["unloaded"]')" True "unload --json"
has_clsact && fail "clsact left by unload: $(tc -n "$NSA" qdisc show dev "$VA")"
[[ ! -e /run/secpol/$VA.lock ]] || fail "lock file left by unload"
say "ok: clsact and lock file removed"

# clsact created by secpol, but another filter was added to it: kept.
secpolA load "$E2E_TMP/p.pol" --dev "$VA" >/dev/null || fail "load 2"
# This kernel has no matchall/u32/flower classifier: a do-nothing BPF filter is the foreign one.
tc -n "$NSA" filter add dev "$VA" ingress pref 7 bpf da obj "$SECPOL_SOURCE_DIR/build/bpf/empty.bpf.o" sec xdp ||
    fail "add a foreign tc filter (needs the bpf_test_objs target)"
secpolA unload --dev "$VA" >/dev/null || fail "unload 2"
has_clsact || fail "clsact removed although another filter uses it"
[[ -n $(tc -n "$NSA" filter show dev "$VA" ingress) ]] || fail "the foreign filter is gone"
tc -n "$NSA" qdisc del dev "$VA" clsact
say "ok: clsact with a foreign filter kept"

# clsact made by someone else: never removed.
tc -n "$NSA" qdisc add dev "$VA" clsact || fail "add clsact"
secpolA load "$E2E_TMP/p.pol" --dev "$VA" >/dev/null || fail "load 3"
secpolA unload --dev "$VA" >/dev/null || fail "unload 3"
has_clsact || fail "clsact of someone else removed"
tc -n "$NSA" qdisc del dev "$VA" clsact
say "ok: foreign clsact kept"

# --local auto on an interface with no address: warned; status shows `me`.
ip -n "$NSA" addr flush dev "$VA"
err=$(secpolA load "$E2E_TMP/p.pol" --dev "$VA" 2>&1 >/dev/null) || fail "load without addresses: $err"
[[ $err == *"has no IP address"* ]] || fail "no warning for an interface without addresses: '$err'"
say "ok: $err"
secpolA status --dev "$VA" --json >"$E2E_TMP/s.json" || fail "status"
expect_eq "$(jget "$E2E_TMP/s.json" 'd["interfaces"][0]["local_addresses"]')" "['127.0.0.1']" "status local_addresses"
secpolA status >"$E2E_TMP/s.txt" || fail "status text"
grep -q "local addresses (me): 127.0.0.1" "$E2E_TMP/s.txt" || fail "status text lacks the local addresses: $(cat "$E2E_TMP/s.txt")"
ip -n "$NSA" addr add "$IPA/24" dev "$VA"

# Without privileges: one line each, nothing changed.
for who in "setpriv --inh-caps=-all --bounding-set=-all" "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all"; do
    for verb in "load $E2E_TMP/p.pol --dev $VA" "unload --dev $VA" "counters --dev $VA" "counters --reset --dev $VA"; do
        out=$(inA $who "$SECPOL" $verb 2>&1)
        rc=$?
        expect_eq "$rc" 1 "exit of '$verb' as '$who'"
        [[ $out == *"needs root (CAP_BPF and CAP_NET_ADMIN"* && $(wc -l <<<"$out") -eq 1 ]] || fail "not one line: $out"
    done
done
ip -n "$NSA" link show "$VA" | grep -q "prog/xdp" || fail "XDP detached by an unprivileged command"
say "ok: unprivileged verbs refused in one line"

# unload --all: every interface of this namespace.
secpolA unload --all --json >"$E2E_TMP/a.json" || fail "unload --all"
expect_eq "$(jget "$E2E_TMP/a.json" '[i["interface"] for i in d["interfaces"] if i["unloaded"]] == ["'"$VA"'"]')" True "unload --all"
ip -n "$NSA" link show "$VA" | grep -q "prog/xdp" && fail "XDP attached after unload --all"
[[ ! -e /run/secpol/$VA && ! -e /run/secpol/$VA.lock && ! -e /sys/fs/bpf/secpol/$VA ]] || fail "leftovers after unload --all"
say "ok: unload --all"
