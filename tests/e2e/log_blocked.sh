# `log` end to end (issue 13 item 4): blocked packets from the peer namespace
# appear in `secpol log --json` with their rule's label and file:line, a rule
# without `log` stays silent, egress is logged too; `--pcap FILE` writes a
# capture tcpdump reads; a flood is held to the rule's rate limit while every
# packet is still blocked; a swap keeps a running `secpol log` reading, with
# the new policy's labels.
source "$(dirname "$0")/lib.sh"
e2e_setup logblk
command -v tcpdump >/dev/null || fail "missing tool: tcpdump (make deps)"

POL="$E2E_TMP/log.pol"
cat >"$POL" <<'POL'
policy "e2e log"
exemptions none
default permit
block proto udp from any to me port 7101 log rate 1000/s "udp-logged"
block proto udp from any to me port 7102 "udp-quiet"
block proto udp from any to me port 7103 log rate 2/s burst 5 "udp-flood"
block proto udp from me to any port 7104 log "out-logged"
block proto udp from any to me port 7105 log rate 1000000/s burst 1000000 "udp-lost"
POL
secpolA load "$POL" --dev "$VA" --local auto >/dev/null || fail "load"

# Starts `secpol log ARGS` in A in the background, output to FILE, and
# returns once it says it is reading.
start_log() {  # FILE ARGS...
    local out=$1
    shift
    inA "$SECPOL" log --dev "$VA" "$@" >"$out" 2>"$out.err" &
    LOG_PID=$!
    E2E_PIDS="${E2E_PIDS:-} $LOG_PID"
    local i
    for i in $(seq 100); do
        grep -q "reading the log" "$out.err" 2>/dev/null && return 0
        kill -0 "$LOG_PID" 2>/dev/null || fail "secpol log exited: $(cat "$out.err")"
        sleep 0.05
    done
    fail "secpol log did not start: $(cat "$out.err")"
}
wait_log() {  # waits for the background `secpol log` (it ends by --count or --timeout)
    wait "$LOG_PID" || fail "secpol log exited with $?: $(cat "$1.err")"
}

# 1. The labels, file:line and headers of blocked packets, in and out.
EV="$E2E_TMP/events.json"
start_log "$EV" --json --count 5 --timeout 10
pyB send "$IPA" 7102 3 >/dev/null  # blocked, no log: no event
pyB send "$IPA" 7101 3 >/dev/null
pyA send "$IPB" 7104 2 >/dev/null  # blocked at tc egress
wait_log "$EV"
expect_eq "$(wc -l <"$EV")" 5 "events for 3 logged inbound + 2 logged outbound packets"
n_in=$($E2E_PY -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
ok = [e for e in ev if e["label"] == "udp-logged" and e["line"] == 4 and e["file"] == sys.argv[2]
      and e["dir"] == "in" and e["verdict"] == "block" and e["reason"] == "filter" and e["rule"] == 0
      and e["headers"]["ip"]["src"] == sys.argv[3] and e["headers"]["ip"]["dst"] == sys.argv[4]
      and e["headers"]["l4"]["dport"] == 7101 and e["interface"] == sys.argv[5]]
print(len(ok))' "$EV" "$POL" "$IPB" "$IPA" "$VA")
expect_eq "$n_in" 3 "inbound events labelled udp-logged ($POL:4) with the packet's headers"
n_out=$($E2E_PY -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
print(len([e for e in ev if e["label"] == "out-logged" and e["line"] == 7 and e["dir"] == "out"
           and e["headers"]["l4"]["dport"] == 7104 and e["headers"]["ip"]["dst"] == sys.argv[2]]))' "$EV" "$IPB")
expect_eq "$n_out" 2 "outbound events labelled out-logged ($POL:7)"
grep -q '"udp-quiet"\|7102' "$EV" && fail "a rule without log produced an event: $(cat "$EV")"
say "ok: no event for the rule without log"
head -1 "$EV"

# Text output names the rule and file:line too.
TX="$E2E_TMP/events.txt"
start_log "$TX" --count 1 --timeout 10
pyB send "$IPA" 7101 1 >/dev/null
wait_log "$TX"
grep -q "in block filter \"udp-logged\" ($POL:4): $IPB\.[0-9]* > $IPA\.7101: udp" "$TX" || fail "text line: $(cat "$TX")"
say "ok: $(cat "$TX")"

# 2. --pcap FILE: tcpdump reads the capture and sees the blocked datagrams.
PC="$E2E_TMP/blocked.pcap"
start_log "$E2E_TMP/pcap.out" --pcap "$PC" --count 4 --timeout 10
pyB send "$IPA" 7101 4 --size 300 >/dev/null
wait_log "$E2E_TMP/pcap.out"
tcpdump -nn -r "$PC" >"$E2E_TMP/tcpdump.txt" 2>"$E2E_TMP/tcpdump.err" || fail "tcpdump -r: $(cat "$E2E_TMP/tcpdump.err")"
cat "$E2E_TMP/tcpdump.txt"
expect_eq "$(grep -c "IP $IPB\.[0-9]* > $IPA\.7101: UDP, length 300" "$E2E_TMP/tcpdump.txt")" 4 \
    "packets tcpdump reads from the --pcap file"
grep -q "link-type EN10MB" "$E2E_TMP/tcpdump.err" || fail "pcap link type: $(cat "$E2E_TMP/tcpdump.err")"
# --pcap - writes the capture to standard output.
start_log "$E2E_TMP/stdout.pcap" --pcap - --count 1 --timeout 10
pyB send "$IPA" 7101 1 >/dev/null
wait_log "$E2E_TMP/stdout.pcap"
expect_eq "$(tcpdump -nn -r "$E2E_TMP/stdout.pcap" 2>/dev/null | grep -c "> $IPA.7101: UDP")" 1 "packets in the --pcap - stream"

# 3. A flood: every packet blocked, events held to burst 5 + 2/s.
FL="$E2E_TMP/flood.json"
start_log "$FL" --json --timeout 5
t0=$(date +%s.%N)
sent=$(pyB send "$IPA" 7103 3000)
t1=$(date +%s.%N)
sleep 1  # two tokens back at 2/s
pyB send "$IPA" 7103 1 >/dev/null
wait "$LOG_PID"
events=$(wc -l <"$FL")
max=$($E2E_PY -c "import math,sys; print(5 + math.ceil(2 * ($t1 - $t0)) + 1 + 1)")
say "flood: $sent packets in $($E2E_PY -c "print(round($t1 - $t0, 2))") s, then 1 more after 1 s: $events events (limit $max)"
expect_ge "$events" 6 "flood events (the burst, and the packet after the pause)"
((events <= max)) || fail "flood: $events events, more than burst 5 + 2/s over the flood + 1 ($max)"
# Every packet of the rule is an event or counted as held back in a later one.
supp=$($E2E_PY -c '
import json, sys
print(sum(json.loads(l)["suppressed"] for l in open(sys.argv[1])))' "$FL")
expect_eq "$((supp + events))" "$((sent + 1))" "events + packets they report as held back (= packets sent)"
blocked=$(secpolA counters --dev "$VA" --json | $E2E_PY -c '
import json, sys
d = json.load(sys.stdin)
print([r for r in d["rules"] if r["label"] == "udp-flood"][0]["in"]["block"]["packets"])')
expect_eq "$blocked" "$((sent + 1))" "flood packets blocked (log never changes the verdict)"

# 3b. A reader that falls behind: stopped while 3000 packets are logged, more
# than the 256 KiB ring holds; what did not fit is reported as lost, and
# events + lost = the packets the rule blocked.
LO="$E2E_TMP/lost.json"
start_log "$LO" --json --timeout 4
# $LOG_PID may be the subshell around nsenter: stop secpol itself.
READER=$(pgrep -x secpol -P "$LOG_PID" || echo "$LOG_PID")
[[ "$(cat /proc/"$READER"/comm)" == secpol ]] || fail "reader process not found under $LOG_PID"
kill -STOP "$READER"
sent=$(pyB send "$IPA" 7105 3000)
kill -CONT "$READER"
wait "$LOG_PID" || fail "secpol log exited with $?: $(cat "$LO.err")"
events=$(wc -l <"$LO")
lost=$($E2E_PY -c '
import re, sys
m = re.findall(r"events lost: the ring buffer was full \((\d+) since this reader started\)", open(sys.argv[1]).read())
print(m[-1] if m else 0)' "$LO.err")
blocked=$(secpolA counters --dev "$VA" --json | $E2E_PY -c '
import json, sys
d = json.load(sys.stdin)
print([r for r in d["rules"] if r["label"] == "udp-lost"][0]["in"]["block"]["packets"])')
say "stopped reader: $sent sent, $blocked blocked, $events events read, $lost reported lost"
expect_ge "$lost" 1 "events reported lost by a stopped reader"
expect_eq "$((events + lost))" "$blocked" "events read + reported lost (= packets the rule blocked)"

# 4. A swap keeps a running `secpol log` reading, with the new labels.
SW="$E2E_TMP/swap.json"
start_log "$SW" --json --count 2 --timeout 10
pyB send "$IPA" 7101 1 >/dev/null
sed -e 's/"udp-logged"/"udp-logged-v2"/' -e 's/^policy "e2e log"/policy "e2e log v2"\n# swapped/' "$POL" >"$E2E_TMP/log2.pol"
secpolA load "$E2E_TMP/log2.pol" --dev "$VA" --local auto >/dev/null || fail "swap"
pyB send "$IPA" 7101 1 >/dev/null
wait_log "$SW"
labels=$($E2E_PY -c '
import json, sys
print(" ".join("%s:%d" % (json.loads(l)["label"], json.loads(l)["line"]) for l in open(sys.argv[1])))' "$SW")
expect_eq "$labels" "udp-logged:4 udp-logged-v2:5" "labels:lines before and after the swap"

secpolA unload --dev "$VA" >/dev/null || fail "unload"
