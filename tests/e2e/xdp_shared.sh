#!/usr/bin/env bash
# Issue 13 item 8: sharing the XDP hook. secpol refuses to attach when
# another XDP program is on the interface, and names it: for xdp-loader's
# libxdp dispatcher, the programs inside it. The other program stays
# attached, secpol leaves nothing behind (no pins, state, tc filter), and
# once the other program is gone secpol loads. The other way round,
# xdp-loader cannot take the hook from secpol either.
source "$(dirname "$0")/lib.sh"
e2e_setup xdp_shared
for t in xdp-loader xdp-filter; do command -v $t >/dev/null || fail "missing tool: $t (Debian xdp-tools)"; done
POL="$SECPOL_SOURCE_DIR/policies/web-server.pol"
xdp_ids() { ip -n "$NSA" -d -j link show "$VA" | $E2E_PY -c 'import json,sys; l=json.load(sys.stdin)[0]; x=l.get("xdp",{}); print(x.get("prog",{}).get("id",0) or ",".join(str(a["prog"]["id"]) for a in x.get("attached",[])) or 0)'; }

# xdp-filter (libxdp dispatcher) first.
inA xdp-filter load "$VA" -m skb >"$E2E_TMP/xf.log" 2>&1 || { cat "$E2E_TMP/xf.log"; fail "xdp-filter load"; }
before=$(xdp_ids)
inA xdp-loader status "$VA" >"$E2E_TMP/status.log" 2>&1
say "xdp-filter attached: prog $before"
secpolA load "$POL" --dev "$VA" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
rc=$?
expect_eq $rc 1 "secpol load next to xdp-filter: exit status"
cat "$E2E_TMP/err"
# libxdp uses its dispatcher where the kernel lets it load one (freplace);
# where not (this machine's kernel refuses xdp-dispatcher.o with EPERM), it
# falls back to attaching xdp-filter's program alone. Either way the error
# names what is there.
if bpftool prog show id "$before" | grep -q xdp_dispatcher; then
    grep -q "$VA: libxdp dispatcher (id $before, from xdp-loader/xdp-filter/libxdp) running 'xdpfilt_" "$E2E_TMP/err" ||
        fail "the error does not name the dispatcher and xdp-filter's program"
    say "ok: libxdp dispatcher mode; the error names the dispatcher and its programs"
else
    grep -q "$VA: XDP program 'xdpfilt_alw_all' (id $before)" "$E2E_TMP/err" ||
        fail "the error does not name xdp-filter's program"
    say "ok: libxdp legacy mode (no dispatcher on this kernel); the error names xdp-filter's program"
fi
grep -q "is attached and was not loaded by secpol; not replacing it" "$E2E_TMP/err" || fail "the error does not say it refuses"
expect_eq "$(xdp_ids)" "$before" "XDP program after the refusal (xdp-filter's)"
[[ ! -e "/sys/fs/bpf/secpol/$VA" && ! -e "/run/secpol/$VA/state.json" ]] || fail "pins or state left behind"
[[ -z "$(tc -n "$NSA" filter show dev "$VA" egress 2>/dev/null)" ]] || fail "tc egress filter left behind"
say "ok: nothing of secpol left on $VA"
inA xdp-filter unload "$VA" >/dev/null 2>&1 || inA xdp-loader unload "$VA" --all >/dev/null 2>&1 || fail "xdp-filter unload"
expect_eq "$(xdp_ids)" 0 "XDP programs after xdp-filter unload"

# With the hook free, secpol loads; then xdp-loader cannot take it over.
secpolA load "$POL" --dev "$VA" >/dev/null || fail "secpol load on a free hook"
ours=$(xdp_ids)
obj=$(dpkg -L libxdp1 xdp-tools 2>/dev/null | grep -m1 '/bpf/xdpfilt_alw_all.o$')
[[ -f "$obj" ]] || fail "no xdpfilt_alw_all.o from xdp-tools to load with xdp-loader"
if inA xdp-loader load "$VA" "$obj" -m native >"$E2E_TMP/xl.log" 2>&1; then
    cat "$E2E_TMP/xl.log"
    fail "xdp-loader replaced secpol's program"
fi
say "xdp-loader on secpol's hook: $(tail -1 "$E2E_TMP/xl.log")"
expect_eq "$(xdp_ids)" "$ours" "XDP program after xdp-loader's attempt (secpol's)"
secpolA status --dev "$VA" --json >"$E2E_TMP/st.json"
expect_eq "$(jget "$E2E_TMP/st.json" 'd["interfaces"][0]["xdp"]["attached"]')" True "secpol still attached"
