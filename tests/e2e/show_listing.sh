# secpol show (issue 13 item 7): after real traffic, `show` lists each
# filter's source text with the counts `counters` reports, then exemptions,
# default, the special rows, the programs and `me`; `show --json` carries
# the same numbers as `counters --json`, the text of every filter, and
# nothing loaded is an error.
source "$(dirname "$0")/lib.sh"
e2e_setup show

cat >"$E2E_TMP/p.pol" <<'POL'
policy "e2e show"
exemptions windows2000
default permit
permit proto udp from any to me port 7001      "udp-ok"
block  proto udp from any to me port 7002,7003 "udp-blocked"
POL

secpolA show --dev "$VA" >/dev/null 2>"$E2E_TMP/e"
expect_eq "$?" 1 "show with nothing loaded: exit"
grep -q "no secpol policy loaded" "$E2E_TMP/e" || fail "show error: $(cat "$E2E_TMP/e")"
secpolA show --dev "$VA" --json >"$E2E_TMP/e.json"
expect_eq "$(jget "$E2E_TMP/e.json" '"no secpol policy loaded" in d["error"]')" True "show --json error on stdout"

secpolA load "$E2E_TMP/p.pol" --dev "$VA" --local auto >/dev/null || fail "load"
start_sink A 5 7001 7002
pyB send "$IPA" 7001 6 --size 100 >/dev/null
pyB send "$IPA" 7002 4 --size 60 >/dev/null
pyB send "$IPA" 9 2 >/dev/null   # default
pyB send "$IPA" 88 3 --sport 88 >/dev/null  # kerberos exemption
stop_sinks
expect_eq "$(sink_count A 7001)" 6 "datagrams to 7001"
expect_eq "$(sink_count A 7002)" 0 "datagrams to 7002"

secpolA counters --dev "$VA" --json >"$E2E_TMP/c.json" || fail "counters"
secpolA show --dev "$VA" --json >"$E2E_TMP/s.json" || fail "show --json"
secpolA show --dev "$VA" >"$E2E_TMP/s.txt" || fail "show"
cat "$E2E_TMP/s.txt"

expect_eq "$(jget "$E2E_TMP/s.json" 'd["format"]')" "secpol-show-1" "format"
expect_eq "$(jget "$E2E_TMP/s.json" 'd["rules"][0]["text"]')" 'permit proto udp from any to me port 7001 "udp-ok"' "rule 0 text (as the compiler keeps it: blanks collapsed)"
expect_eq "$(jget "$E2E_TMP/s.json" 'd["rules"][1]["text"]')" 'block proto udp from any to me port 7002,7003 "udp-blocked"' "rule 1 text"
expect_eq "$(jget "$E2E_TMP/s.json" 'd["rules"][0]["in"]["permit"]["packets"]')" 6 "show: udp-ok permitted in"
expect_eq "$(jget "$E2E_TMP/s.json" 'd["rules"][1]["in"]["block"]["packets"]')" 4 "show: udp-blocked blocked in"
expect_eq "$(jget "$E2E_TMP/s.json" 'd["exemptions"]["kerberos"]["in"]["packets"]')" 3 "show: kerberos exemption in"
expect_ge "$(jget "$E2E_TMP/s.json" 'd["default"]["in"]["packets"]')" 2 "show: default in"
# The numbers are those of counters (both read under the shared lock; no traffic in between).
same=$($E2E_PY -c '
import json, sys
c = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2]))
keys = ["rules", "exemptions", "default", "malformed", "fragment", "non_ip", "ipsec", "total", "retired"]
strip = lambda rs: [{k: v for k, v in r.items() if k not in ("text", "column")} for r in rs]
bad = [k for k in keys if (strip(s[k]) if k == "rules" else s[k]) != c[k]]
print("same" if not bad else "differ: " + " ".join(bad))' "$E2E_TMP/c.json" "$E2E_TMP/s.json")
expect_eq "$same" same "show --json numbers vs counters --json"
expect_eq "$(jget "$E2E_TMP/s.json" 'd["link"]')" ether "link type"
expect_eq "$(jget "$E2E_TMP/s.json" 'd["xdp"]["prog"]')" secpol_ingress "XDP program"
expect_eq "$(jget "$E2E_TMP/s.json" '"10.199.0.1" in d["local_addresses"]')" True "me holds the interface's address"
expect_eq "$(jget "$E2E_TMP/s.json" 'd["pending_confirm"]')" None "pending confirmation"

grep -qF 'permit proto udp from any to me port 7001 "udp-ok" # rule 0, line 4' "$E2E_TMP/s.txt" || fail "text: rule 0"
grep -qF 'counter in packets 6 bytes' "$E2E_TMP/s.txt" || fail "text: rule 0 counter"
bytes0=$(jget "$E2E_TMP/c.json" 'd["rules"][0]["in"]["bytes"]')
grep -qF "counter in packets 6 bytes $bytes0 (permit 6/$bytes0 block 0/0 protected 0/0)" "$E2E_TMP/s.txt" || fail "text: rule 0 counter with counters' bytes $bytes0"
bytes1=$(jget "$E2E_TMP/c.json" 'd["rules"][1]["in"]["bytes"]')
grep -qF "counter in packets 4 bytes $bytes1 (permit 0/0 block 4/$bytes1 protected 0/0)" "$E2E_TMP/s.txt" || fail "text: rule 1 counter"
grep -qE '^	exemption kerberos # permit: counter in packets 3 bytes' "$E2E_TMP/s.txt" || fail "text: kerberos exemption"
grep -qE '^	default permit # counter in packets [0-9]+' "$E2E_TMP/s.txt" || fail "text: default"
grep -qE '^	me .*10\.199\.0\.1' "$E2E_TMP/s.txt" || fail "text: me"
grep -qE "^	link ether: xdp [a-z]+ prog [0-9]+ secpol_ingress" "$E2E_TMP/s.txt" || fail "text: programs"
secpolA unload --dev "$VA" >/dev/null || fail "unload"
say "ok: show lists the filters with the counts counters reports"
