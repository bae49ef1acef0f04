# kill -9 at every step of a first load and of a swap (SECPOL_KILL_AT=STEP,
# runtime/guard.h). Afterwards the interface has the old policy (or none, on
# a first load) or the new one, fully attached (XDP and tc, the programs the
# state names), `secpol status --json` says which, the counters kept what
# they had counted and count on, and a later load and unload succeed. Last,
# the loader and its guard killed together: a later load and unload still succeed.
source "$(dirname "$0")/lib.sh"
e2e_setup kill

RUN_DIR=${SECPOL_RUN_DIR:-/run/secpol}
FRESH_STEPS=(locked verified cleaned xdp tc link-pinned pinned state-tmp policy-renamed state)
SWAP_STEPS=(locked verified cleaned xdp tc pinned counters-read state-tmp policy-renamed state)

cat >"$E2E_TMP/p1.pol" <<'POL'
policy "kill one"
exemptions windows2000
default permit
block proto udp from any to me port 7002 "udp-blocked"
POL
# The same rule (its counts carry over) and one more.
cat "$E2E_TMP/p1.pol" >"$E2E_TMP/p2.pol"
sed -i 's/kill one/kill two/' "$E2E_TMP/p2.pol"
echo 'block proto udp from any to me port 7003 "udp-blocked-too"' >>"$E2E_TMP/p2.pol"

# Runs `secpol load` with SECPOL_KILL_AT=STEP; it must die of SIGKILL.
killed_load() {  # STEP POLICY
    SECPOL_KILL_AT=$1 secpolA load "$2" --dev "$VA" >"$E2E_TMP/kill.out" 2>"$E2E_TMP/kill.err"
    local rc=$?
    [[ $rc == 137 ]] || fail "kill at $1: exit $rc, expected 137 (SIGKILL); $(cat "$E2E_TMP/kill.err")"
    # The rollback guard holds the interface lock until it is done.
    flock -s "$RUN_DIR/$VA.lock" true || fail "kill at $1: lock"
}

# What is attached: "none" (and nothing at all is left) or the policy label,
# with XDP and tc both holding the programs the state names. Anything half is a failure.
attached() {  # WHAT
    local kx kt
    kx=$(ip -n "$NSA" -d link show "$VA" | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -1)
    kt=$(tc -n "$NSA" filter show dev "$VA" egress 2>/dev/null | sed -n 's/.* id \([0-9]*\) .*/\1/p' | head -1)
    if ! secpolA status --dev "$VA" --json >"$E2E_TMP/st.json" 2>"$E2E_TMP/st.err"; then
        # Under --json the error is {"error": ...} on stdout (issue 12 item 13).
        grep -q "no secpol policy loaded" "$E2E_TMP/st.json" "$E2E_TMP/st.err" ||
            fail "$1: status: $(cat "$E2E_TMP/st.json" "$E2E_TMP/st.err")"
        [[ -z $kx ]] || fail "$1: no state, but XDP program $kx attached"
        [[ -z $kt ]] || fail "$1: no state, but tc filter (prog $kt) attached"
        [[ -z $(ls -A "/sys/fs/bpf/secpol/$VA" 2>/dev/null) ]] || fail "$1: no state, but pins: $(ls "/sys/fs/bpf/secpol/$VA")"
        echo none
        return
    fi
    local label sx st ax at
    read -r label sx st ax at < <(jget "$E2E_TMP/st.json" '"|".join(str(x) for x in [d["interfaces"][0]["policy"].replace(" ", "_"), d["interfaces"][0]["xdp"]["prog_id"], d["interfaces"][0]["tc"]["prog_id"], d["interfaces"][0]["xdp"]["attached"], d["interfaces"][0]["tc"]["attached"]])' | tr '|' ' ')
    [[ $ax == True && $at == True ]] || fail "$1: status says xdp attached=$ax tc attached=$at"
    [[ $kx == "$sx" ]] || fail "$1: XDP has prog '$kx', state says $sx"
    [[ $kt == "$st" ]] || fail "$1: tc has prog '$kt', state says $st"
    echo "${label//_/ }"
}

blocked_count() {  # in.block packets of "udp-blocked"
    secpolA counters --dev "$VA" --json >"$E2E_TMP/c.json" || fail "counters: $(cat "$E2E_TMP/c.json")"
    jget "$E2E_TMP/c.json" '[r for r in d["rules"] if r["label"] == "udp-blocked"][0]["in"]["block"]["packets"]'
}

# The policy attached blocks and counts: N more packets, N more counted, none delivered.
counts_on() {  # WHAT BEFORE
    start_sink A 10 7002
    pyB send "$IPA" 7002 2 >/dev/null
    stop_sinks
    expect_eq "$(sink_count A 7002)" 0 "$1: port 7002 still blocked"
    expect_eq "$(blocked_count)" $(($2 + 2)) "$1: udp-blocked counts on"
}

t0=$(date +%s)
for step in "${FRESH_STEPS[@]}"; do
    secpolA unload --dev "$VA" >/dev/null || fail "unload before fresh $step"
    killed_load "$step" "$E2E_TMP/p1.pol"
    want=none
    [[ $step == state ]] && want="kill one"  # killed after the commit
    expect_eq "$(attached "first load killed at $step")" "$want" "first load killed at $step: attached"
    [[ $want == none ]] || counts_on "first load killed at $step" 0
    secpolA load "$E2E_TMP/p1.pol" --dev "$VA" >/dev/null || fail "load after a kill at $step"
    expect_eq "$(attached "load after kill at $step")" "kill one" "load after a kill at $step"
done

for step in "${SWAP_STEPS[@]}"; do
    secpolA unload --dev "$VA" >/dev/null || fail "unload before swap $step"
    secpolA load "$E2E_TMP/p1.pol" --dev "$VA" >/dev/null || fail "load p1 before swap $step"
    start_sink A 10 7002
    pyB send "$IPA" 7002 3 >/dev/null
    stop_sinks
    expect_eq "$(blocked_count)" 3 "before swap $step: counted"
    killed_load "$step" "$E2E_TMP/p2.pol"
    want="kill one"
    [[ $step == state ]] && want="kill two"
    expect_eq "$(attached "swap killed at $step")" "$want" "swap killed at $step: attached"
    expect_eq "$(blocked_count)" 3 "swap killed at $step: counters kept"
    counts_on "swap killed at $step" 3
    secpolA load "$E2E_TMP/p2.pol" --dev "$VA" >/dev/null || fail "swap after a kill at $step"
    expect_eq "$(attached "swap after kill at $step")" "kill two" "swap after a kill at $step"
    expect_eq "$(blocked_count)" 5 "swap after a kill at $step: counters carried"
done

# The loader and its rollback guard both killed mid-swap (nothing rolls
# back): whatever half state is left, a later load attaches the new policy
# whole and a later unload leaves nothing behind.
for step in xdp tc pinned; do
    secpolA unload --dev "$VA" >/dev/null || fail "unload before double kill at $step"
    secpolA load "$E2E_TMP/p1.pol" --dev "$VA" >/dev/null || fail "load p1 before double kill at $step"
    SECPOL_STOP_AT=$step secpolA load "$E2E_TMP/p2.pol" --dev "$VA" >/dev/null 2>&1 &
    loader=""
    for _ in $(seq 100); do
        loader=$(pgrep -f -- "load $E2E_TMP/p2.pol --dev $VA" | while read -r p; do
            [[ $(ps -o stat= -p "$p") == T* ]] && echo "$p"; done | head -1)
        [[ -n $loader ]] && break
        sleep 0.1
    done
    [[ -n $loader ]] || fail "double kill at $step: the loader never stopped at $step"
    guard=$(pgrep -P "$loader")
    [[ -n $guard ]] || fail "double kill at $step: no rollback guard under loader $loader"
    kill -9 "$guard" "$loader"
    wait 2>/dev/null
    say "double kill at $step: killed loader $loader and guard $guard"
    secpolA load "$E2E_TMP/p2.pol" --dev "$VA" >/dev/null 2>"$E2E_TMP/dk.err" ||
        fail "load after a double kill at $step: $(cat "$E2E_TMP/dk.err")"
    expect_eq "$(attached "load after double kill at $step")" "kill two" "load after a double kill at $step"
    counts_on "load after double kill at $step" "$(blocked_count)"
    secpolA unload --dev "$VA" >/dev/null 2>"$E2E_TMP/dk.err" ||
        fail "unload after a double kill at $step: $(cat "$E2E_TMP/dk.err")"
    expect_eq "$(attached "unload after double kill at $step")" none "unload after a double kill at $step"
done

secpolA unload --dev "$VA" >/dev/null || fail "final unload"
expect_eq "$(attached "final unload")" none "after the final unload"
say "kill test: $(( $(date +%s) - t0 )) s for ${#FRESH_STEPS[@]} + ${#SWAP_STEPS[@]} kills"
