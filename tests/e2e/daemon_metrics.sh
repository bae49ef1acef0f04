#!/usr/bin/env bash
# Issue 13 item 3: Prometheus metrics. `secpol counters --format prometheus`
# and the daemon's --metrics endpoint (scraped on the namespace's loopback)
# pass `promtool check metrics`, show the numbers the JSON shows, and every
# counter series stays monotonic across a swap (SIGHUP with a new policy).
source "$(dirname "$0")/lib.sh"
e2e_setup daemon_metrics
command -v promtool >/dev/null || fail "missing tool: promtool (Debian package prometheus; make deps)"

CONF="$E2E_TMP/conf"
PORT=$((20000 + RANDOM % 20000))
mkdir -p "$CONF/interfaces.d"
printf 'metrics = 127.0.0.1:%d\n' $PORT >"$CONF/secpol.conf"
POL="$CONF/interfaces.d/$VA.pol"
cat >"$POL" <<'POL'
policy "metrics one"
exemptions { ike }
default permit
permit proto udp from any to me port 7001 "seven"
block proto udp from any to me port 7002 "blocked \"quoted\""
POL

nsenter --net="/run/netns/$NSA" "$SECPOL" daemon --config-dir "$CONF" >"$E2E_TMP/daemon.log" 2>&1 &
DAEMON=$!
E2E_PIDS="${E2E_PIDS:-} $DAEMON"

scrape() {  # OUT: GET /metrics on the namespace's loopback
    inA $E2E_PY -c 'import sys, urllib.request
r = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5)
sys.stdout.write(r.headers.get("Content-Type") + "\n")
open(sys.argv[2], "wb").write(r.read())' $PORT "$1"
}
for i in $(seq 100); do
    scrape "$E2E_TMP/m0.prom" >/dev/null 2>&1 && grep -q "^secpol_policy_info{interface=\"$VA\"" "$E2E_TMP/m0.prom" && break
    kill -0 $DAEMON 2>/dev/null || { cat "$E2E_TMP/daemon.log"; fail "daemon exited"; }
    sleep 0.1
done
grep -q "^secpol_policy_info{interface=\"$VA\"" "$E2E_TMP/m0.prom" || { cat "$E2E_TMP/daemon.log"; scrape "$E2E_TMP/m0.prom"; fail "no metrics served on 127.0.0.1:$PORT"; }

pyB send $IPA 7001 20 >/dev/null
pyB send $IPA 7002 5 >/dev/null
pyB send $IPA 7003 3 >/dev/null
sleep 0.2

ctype=$(scrape "$E2E_TMP/m1.prom")
expect_eq "$ctype" "text/plain; version=0.0.4; charset=utf-8" "Content-Type of /metrics"
promtool check metrics <"$E2E_TMP/m1.prom" >"$E2E_TMP/promtool1" 2>&1 || { cat "$E2E_TMP/promtool1"; fail "promtool check metrics rejected the scrape"; }
say "ok: promtool check metrics accepts the scrape ($(grep -vc '^#' "$E2E_TMP/m1.prom") samples)"
secpolA counters --format prometheus >"$E2E_TMP/c1.prom" || fail "counters --format prometheus"
promtool check metrics <"$E2E_TMP/c1.prom" >"$E2E_TMP/promtool2" 2>&1 || { cat "$E2E_TMP/promtool2"; fail "promtool check metrics rejected counters --format prometheus"; }
say "ok: promtool check metrics accepts secpol counters --format prometheus"
secpolA counters --format prometheus --dev "$VA" --output "$E2E_TMP/textfile.prom" || fail "counters --output"
[[ -s "$E2E_TMP/textfile.prom" && ! -e "$E2E_TMP/textfile.prom.tmp" ]] || fail "--output did not write the file atomically"

# value FILE 'metric{labels}' -> the sample's value
value() { K="$2" awk 'index($0, ENVIRON["K"] " ") == 1 { print $NF }' "$1"; }  # awk -v would eat the backslashes
L="interface=\"$VA\""
expect_eq "$(value "$E2E_TMP/m1.prom" "secpol_rule_packets_total{$L,rule=\"0\",label=\"seven\",direction=\"ingress\",verdict=\"permit\"}")" 20 "rule 'seven' ingress permit packets"
expect_eq "$(value "$E2E_TMP/m1.prom" "secpol_rule_packets_total{$L,rule=\"1\",label=\"blocked \\\"quoted\\\"\",direction=\"ingress\",verdict=\"block\"}")" 5 "rule with an escaped label, ingress block packets"
expect_eq "$(value "$E2E_TMP/m1.prom" "secpol_default_packets_total{$L,direction=\"ingress\",verdict=\"permit\"}")" 3 "default ingress packets"
expect_eq "$(value "$E2E_TMP/m1.prom" "secpol_policy_generation{$L}")" 1 "generation"
# The same numbers as the JSON.
secpolA counters --dev "$VA" --json >"$E2E_TMP/c1.json"
expect_eq "$(value "$E2E_TMP/c1.prom" "secpol_rule_bytes_total{$L,rule=\"0\",label=\"seven\",direction=\"ingress\",verdict=\"permit\"}")" \
    "$(jget "$E2E_TMP/c1.json" 'd["rules"][0]["in"]["permit"]["bytes"]')" "rule 'seven' bytes: prometheus = json"
for m in secpol_exemption_packets_total secpol_malformed_packets_total secpol_fragment_packets_total \
    secpol_non_ip_packets_total secpol_policy_load_timestamp_seconds secpol_daemon_reloads_total; do
    grep -q "^$m" "$E2E_TMP/m1.prom" || fail "no $m in the scrape"
done
say "ok: exemption, malformed, fragment, non-IP, load time and daemon metrics present"

# Swap: 'seven' stays (same label), the blocked rule goes, a new one comes.
cat >"$POL" <<'POL'
policy "metrics two"
exemptions { ike }
default permit
permit proto udp from any to me port 7004 "new"
permit proto udp from any to me port 7001 "seven"
POL
kill -HUP $DAEMON
for i in $(seq 100); do
    scrape "$E2E_TMP/m2.prom" >/dev/null
    [[ "$(value "$E2E_TMP/m2.prom" "secpol_policy_generation{$L}")" == 2 ]] && break
    sleep 0.1
done
expect_eq "$(value "$E2E_TMP/m2.prom" "secpol_policy_generation{$L}")" 2 "generation after SIGHUP"
pyB send $IPA 7001 4 >/dev/null
sleep 0.2
scrape "$E2E_TMP/m3.prom" >/dev/null
promtool check metrics <"$E2E_TMP/m3.prom" >/dev/null 2>&1 || fail "promtool check metrics after the swap"

# Monotonic: every counter series of the first scrape that still exists is >= before.
$E2E_PY - "$E2E_TMP/m1.prom" "$E2E_TMP/m3.prom" <<'PY' || fail "a counter went backwards across the swap"
import sys
def load(p):
    d = {}
    for line in open(p):
        if line.startswith("#") or not line.strip(): continue
        k, v = line.rsplit(" ", 1); d[k] = float(v)
    return d
a, b = load(sys.argv[1]), load(sys.argv[2])
common = [k for k in a if k.split("{")[0].endswith("_total") and k in b]
bad = [(k, a[k], b[k]) for k in common if b[k] < a[k]]
for x in bad: print("went down:", *x)
print("[daemon_metrics] ok: %d counter series in both scrapes, none went down" % len(common))
sys.exit(1 if bad or len(common) < 20 else 0)
PY
expect_eq "$(value "$E2E_TMP/m3.prom" "secpol_rule_packets_total{$L,rule=\"1\",label=\"seven\",direction=\"ingress\",verdict=\"permit\"}")" 24 "'seven' (now rule 1) carried over: 20 + 4"
expect_eq "$(value "$E2E_TMP/m3.prom" "secpol_retired_packets_total{$L,direction=\"ingress\"}")" 5 "the removed rule's packets are retired"
expect_eq "$(value "$E2E_TMP/m3.prom" "secpol_daemon_reloads_total")" 1 "daemon reloads"
