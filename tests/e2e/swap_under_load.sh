# Replace the policy again and again while UDP flows both ways, then check
# that no packet went without a decision: packets sent == sum of every
# decision counter (live + carried over + retired), per direction, and that
# the counters of rules that survive a swap were carried over.
source "$(dirname "$0")/lib.sh"
e2e_setup swap

SECONDS_OF_FLOW=${SWAP_FLOW_SECONDS:-4}
PPS=${SWAP_PPS:-10000}
SWAPS=${SWAP_COUNT:-8}

cat >"$E2E_TMP/p1.pol" <<'POL'
policy "swap one"
exemptions windows2000
default block
permit proto udp from any to me port 7000 "flow-in"
permit proto udp from me to any port 7001 "flow-out"
block proto udp from any to me port 7005 "old-only"
POL
cat >"$E2E_TMP/p2.pol" <<'POL'
policy "swap two"
exemptions windows2000
default block
# Same flows, other order, other rule ids: labels carry the counters.
permit proto icmp from any to any "new-only"
permit proto udp from me to any port 7001 "flow-out"
permit proto udp from any to me port 7000 "flow-in"
POL

secpolA load "$E2E_TMP/p1.pol" --dev "$VA" || fail "first load"
start_sink A 60 7000 7005
start_sink B 60 7001
# Counted by "old-only", a rule the second policy lacks: they must end up in "retired".
old_only=$(pyB send "$IPA" 7005 5)

pyB flood "$IPA" 7000 "$SECONDS_OF_FLOW" --pps "$PPS" >"$E2E_TMP/sent.in" &
fin=$!
pyA flood "$IPB" 7001 "$SECONDS_OF_FLOW" --pps "$PPS" >"$E2E_TMP/sent.out" &
fout=$!
E2E_PIDS="${E2E_PIDS:-} $fin $fout"
sleep 0.5
swaps=0
gap_s=$(awk "BEGIN{print ($SECONDS_OF_FLOW - 1.0) / $SWAPS}")
for i in $(seq "$SWAPS"); do
    p=p2
    ((i % 2 == 0)) && p=p1
    secpolA load "$E2E_TMP/$p.pol" --dev "$VA" >"$E2E_TMP/swap.$i.out" || fail "swap $i failed: $(cat "$E2E_TMP/swap.$i.out")"
    grep -q "replaced with" "$E2E_TMP/swap.$i.out" || fail "swap $i was not a replace: $(cat "$E2E_TMP/swap.$i.out")"
    swaps=$((swaps + 1))
    sleep "$gap_s"
done
wait "$fin" "$fout"
stop_sinks
sent_in=$(($(cat "$E2E_TMP/sent.in") + old_only))
sent_out=$(cat "$E2E_TMP/sent.out")

secpolA counters --dev "$VA" --json >"$E2E_TMP/c.json" || fail "counters"
secpolA counters --dev "$VA"
q() { jget "$E2E_TMP/c.json" "$1"; }
counted_in=$(q "d['total']['in']['packets'] + d['retired']['in']['packets']")
counted_out=$(q "d['total']['out']['packets'] + d['retired']['out']['packets']")
flow_in=$(q "[r for r in d['rules'] if r['label']=='flow-in'][0]['in']['permit']['packets']")
flow_out=$(q "[r for r in d['rules'] if r['label']=='flow-out'][0]['out']['permit']['packets']")
received=$(sink_count A 7000)
say "SWAP FIGURES: swaps=$swaps in: sent=$sent_in counted=$counted_in gap=$((sent_in - counted_in));" \
    "out: sent=$sent_out counted=$counted_out gap=$((sent_out - counted_out)); flow-in received=$received"
if ((sent_in != counted_in || sent_out != counted_out)); then
    ip -n "$NSA" -s -s link show "$VA"
    ip -n "$NSB" -s -s link show "$VB"
fi
expect_eq "$counted_in" "$sent_in" "inbound packets with a decision (old + new programs)"
expect_eq "$counted_out" "$sent_out" "outbound packets with a decision (old + new programs)"
expect_eq "$flow_in" "$((sent_in - old_only))" "flow-in carried over across $swaps swaps"
expect_eq "$flow_out" "$sent_out" "flow-out carried over across $swaps swaps"
expect_eq "$(q "d['retired']['in']['packets']")" "$old_only" "old-only counts retired"
expect_eq "$(q "d['generation']")" $((swaps + 1)) "generation"
expect_eq "$received" "$((sent_in - old_only))" "permitted datagrams received (none dropped by a swap)"
