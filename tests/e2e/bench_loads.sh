#!/usr/bin/env bash
# secpol_bench's default run measures every per-packet case over several
# loads of its program (docs/performance.md, "Method"): a tiny run (2 loads
# of 2 rounds of few packets, the fixed cases and one generated size with
# its peers). Asserts structure only (performance is never asserted in
# tests): every case ran every round on two different programs, one per
# load, has a figure and a standard error over loads, the floor too; the
# tables show the figures with their errors; nothing is left loaded. The
# programs are held on veth devices in a private namespace: run under the
# netns lock.
source "$(dirname "$0")/lib.sh"
e2e_bench_init bench_loads

"$BENCH" --sizes 10 --spec-sizes '' --classbench '' --no-veth --no-control-plane --loads 2 --rounds 2 \
    --repeat 2000 --out-dir "$E2E_TMP/out" >"$E2E_TMP/run.txt" 2>"$E2E_TMP/run.err"
rc=$?
[[ $rc -eq 0 ]] || cat "$E2E_TMP/run.err"
expect_eq $rc 0 "secpol_bench exit status"
out=$(ls "$E2E_TMP"/out/*.json)
expect_eq "$(jget "$out" '(d["loads"], d["rounds_per_load"], d["rounds"], d["repeat"])')" "(2, 2, 4, 2000)" "how the run was taken"
# The floor, 3 log cases, 13 fixed packets on two policies, 10 filters in
# first-match with the linear scan (and xdp-filter when installed).
expect_ge "$(jget "$out" 'len(d["cases"])')" 31 "cases measured"
expect_eq "$(jget "$out" 'all(c["loads"] == 2 and len(c["rounds_ns"]) == 4 and c["load_of_round"] == [0, 0, 1, 1] and len(c["ns_load_medians"]) == 2 for c in d["cases"])')" True "every case: two loads of two rounds"
expect_eq "$(jget "$out" 'all(c["ns_mean"] > 0 and c["se_ns"] is not None and c["se_ns"] >= 0 and c["ratio_se"] is not None for c in d["cases"])')" True "every case: a figure and its standard error over loads"
expect_eq "$(jget "$out" 'all(abs(c["ns_mean"] - sum(c["ns_load_medians"]) / 2) < 1e-9 for c in d["cases"])')" True "figure = mean of the loads' medians"
expect_eq "$(jget "$out" 'abs(d["floor_ns"] - [c for c in d["cases"] if c["group"] == "floor"][0]["ns_mean"]) < 1e-9 and d["floor_se_ns"] is not None')" True "the floor is measured the same way"
# Ratios round by round against the floor's run of the same round, each
# load's median of them, the mean over loads.
expect_eq "$(jget "$out" 'all(abs(c["ratio_to_floor"] - sum(__import__("statistics").median([x / f for x, f, l in zip(c["rounds_ns"], F["rounds_ns"], c["load_of_round"]) if l == k]) for k in (0, 1)) / 2) < 1e-9 and c["ratio_se"] is not None for F in [c for c in d["cases"] if c["group"] == "floor"] for c in d["cases"])')" True "ratios against that floor, round by round"
# The thread's CPU time beside the kernel's figure (sub-ns, docs/performance.md).
expect_eq "$(jget "$out" 'all(len(c["cpu_rounds_ns"]) == 4 and c["cpu_ns_mean"] > 0 and c["cpu_ratio_to_floor"] > 0 for c in d["cases"])')" True "every case: CPU time per packet and its ratio to the floor"
# Reloaded: each program has a new id in the second load; cases of one
# program (the fixed packets of a policy) share it.
expect_eq "$(jget "$out" 'all(len(c["prog_ids"]) == 2 and c["prog_ids"][0] != c["prog_ids"][1] and 0 not in c["prog_ids"] for c in d["cases"])')" True "every case ran on a new program in the second load"
expect_eq "$(jget "$out" 'len({tuple(c["prog_ids"]) for c in d["cases"] if c["group"] == "special"})')" 1 "the fixed packets of one policy share its program"
expect_eq "$(jget "$out" 'len({c["prog_ids"][0] for c in d["cases"]} & {c["prog_ids"][1] for c in d["cases"]})')" 0 "no program of the first load is in the second"
md="${out%.json}.md"
grep -q '^| empty XDP program (floor) | - | [0-9.]* ± [0-9.]* |' "$md" || fail "no floor row with its standard error in $md"
grep -q '^| non-IP ≤ 1.5× floor (policy without me) | [0-9.]* ± [0-9.]*× | \(yes\|\*\*no\*\*\) |' "$md" ||
    fail "the targets table does not show non-IP as mean ± s.e., met or not"
say "ok: tables show figures ± standard errors"
# The older form of results (no loads) still renders.
$E2E_PY - "$out" "$E2E_TMP/old.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("loads", "rounds_per_load", "floor_se_ns"):
    d.pop(k)
for c in d["cases"]:
    for k in ("ns_mean", "se_ns", "ratio_se"):
        c.pop(k)
json.dump(d, open(sys.argv[2], "w"))
PY
"$BENCH" --report "$E2E_TMP/old.json" >"$E2E_TMP/old.txt" 2>&1 || { cat "$E2E_TMP/old.txt"; fail "--report of an older results file"; }
grep -q "median of 4 interleaved rounds" "$E2E_TMP/old.md" || fail "older results: not rendered as medians"
say "ok: older results render as medians"
ids=$(jget "$out" '" ".join(str(i) for c in d["cases"] for i in c["prog_ids"])' | tr ' ' '\n' | sort -u)
for id in $ids; do
    for i in $(seq 100); do bpftool prog show id "$id" >/dev/null 2>&1 || break; sleep 0.1; done
    bpftool prog show id "$id" >/dev/null 2>&1 && fail "program $id still loaded after secpol_bench exited"
done
say "ok: $(echo "$ids" | wc -l) programs of both loads unloaded"
