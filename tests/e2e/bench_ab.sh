#!/usr/bin/env bash
# secpol_bench --ab-hold and --ab (docs/performance.md, "Paired A/B"): this
# build against itself with few rounds. Asserts structure only (performance
# is never asserted in tests): the hold reports every case with a live
# program and unloads it when its stdin closes; --ab pairs every case, runs
# two distinct programs per case, reports positive figures, and leaves no
# process or program behind; --ab-cases selects; a side A that is not a
# hold is an error. The holds attach to veth devices in private namespaces:
# run under the netns lock.
source "$(dirname "$0")/lib.sh"
e2e_bench_init bench_ab

prog_exists() { bpftool prog show id "$1" >/dev/null 2>&1; }
# Program memory is freed after an RCU grace period: wait for it.
expect_gone() {  # WHAT ID...
    local what=$1 id i
    shift
    for id in "$@"; do
        for i in $(seq 100); do prog_exists "$id" || break; sleep 0.1; done
        prog_exists "$id" && fail "$what: program $id still loaded"
    done
    say "ok: $what: $# programs unloaded"
}

# The hold alone: one JSON line, then held until stdin closes.
coproc HOLD { exec "$BENCH" --ab-hold 2>"$E2E_TMP/hold.err"; }
hold_pid=$HOLD_PID
E2E_PIDS=$hold_pid
read -r -t 120 line <&"${HOLD[0]}" || { cat "$E2E_TMP/hold.err"; fail "--ab-hold printed no line"; }
printf '%s\n' "$line" >"$E2E_TMP/hold.json"
ncases=$(jget "$E2E_TMP/hold.json" 'len(d["cases"])')
# The floor, 13 fixed packets on two policies, 10 and 100 filters in two orders.
expect_eq "$ncases" 31 "cases held"
ids=$(jget "$E2E_TMP/hold.json" '" ".join(str(c["prog_id"]) for c in d["cases"].values())')
for id in $ids; do prog_exists "$id" || fail "held program $id is not loaded"; done
expect_eq "$(jget "$E2E_TMP/hold.json" 'all(c["xlated_insns"] > 0 and c["jited_bytes"] > 0 for c in d["cases"].values())')" True "every held program has xlated and jited sizes"
sleep 0.5
kill -0 "$hold_pid" 2>/dev/null || fail "--ab-hold exited before its stdin closed"
exec {HOLD[1]}>&-
for i in $(seq 100); do kill -0 "$hold_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$hold_pid" 2>/dev/null && fail "--ab-hold still running after its stdin closed"
wait "$hold_pid"
expect_eq $? 0 "--ab-hold exit status"
E2E_PIDS=
expect_gone "--ab-hold after stdin closed" $(printf '%s\n' $ids | sort -u)

# The paired run, this build against itself: two loads (a reload between).
"$BENCH" --ab "$BENCH" --ab-rounds 4 --ab-loads 2 --ab-repeat 1000 --out-dir "$E2E_TMP/out" >"$E2E_TMP/ab.md" 2>"$E2E_TMP/ab.err"
rc=$?
[[ $rc -eq 0 ]] || cat "$E2E_TMP/ab.err"
expect_eq $rc 0 "--ab exit status"
out=$(ls "$E2E_TMP"/out/ab-*.json)
expect_eq "$(jget "$out" 'sorted(c["name"] for c in d["cases"]) == sorted(json.load(open("'"$E2E_TMP/hold.json"'"))["cases"])')" True "--ab pairs exactly the held cases"
expect_eq "$(jget "$out" 'sum("missing_in" in c for c in d["cases"])')" 0 "cases missing on one side"
expect_eq "$(jget "$out" 'all(c["rounds"] == 4 and c["loads"] == 2 and len(c["a_rounds_ns"]) == 4 and len(c["b_rounds_ns"]) == 4 and c["load_of_round"] == [0, 0, 1, 1] for c in d["cases"])')" True "two loads of two rounds per case and side"
expect_eq "$(jget "$out" 'all(c["a_ns_mean"] > 0 and c["b_ns_mean"] > 0 and c["diff_ns_se"] is not None for c in d["cases"])')" True "every mean positive, every standard error given"
# Each case: four programs, one per side and load.
expect_eq "$(jget "$out" 'all(len(set(c["a_prog_ids"] + c["b_prog_ids"])) == 4 for c in d["cases"])')" True "side A and side B run different programs, new ones after the reload"
expect_eq "$(jget "$out" 'd["a_held_throughout"]')" True "side A held its programs throughout"
grep -q '^| empty XDP program (floor) |' "$E2E_TMP/ab.md" || fail "no floor row in the markdown table"
expect_eq "$(grep -c '^| ' "$E2E_TMP/ab.md")" 32 "table rows (header and 31 cases)"
apid=$(jget "$out" 'd["a"]["pid"]')
kill -0 "$apid" 2>/dev/null && fail "side A ($apid) still running after --ab returned"
expect_gone "--ab, both sides, both loads" $(jget "$out" '" ".join(str(i) for c in d["cases"] for i in c["a_prog_ids"] + c["b_prog_ids"])' | tr ' ' '\n' | sort -u)

# --ab-cases: the selected cases and the floor, on both sides.
"$BENCH" --ab "$BENCH" --ab-rounds 2 --ab-repeat 100 --ab-cases 'non-IP' >"$E2E_TMP/sel.md" 2>"$E2E_TMP/sel.err" ||
    { cat "$E2E_TMP/sel.err"; fail "--ab --ab-cases"; }
expect_eq "$(grep -c '^| ' "$E2E_TMP/sel.md")" 4 "table rows with --ab-cases non-IP (header, floor, two policies)"

# A side A that is no hold: an error, not a table.
"$BENCH" --ab /bin/true --ab-rounds 1 --ab-repeat 10 >"$E2E_TMP/bad.md" 2>"$E2E_TMP/bad.err"
expect_eq $? 1 "--ab with a side A that is no hold: exit status"
grep -q "side A exited before reporting its programs" "$E2E_TMP/bad.err" || { cat "$E2E_TMP/bad.err"; fail "the error does not say side A exited"; }
[[ -s "$E2E_TMP/bad.md" ]] && fail "a table was printed for a failed run"
say "ok: side A that is no hold refused"
