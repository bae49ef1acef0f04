#!/bin/bash
# xlated_dump.sh SECPOL POLICY OUTDIR: loads POLICY with SECPOL on a veth in a
# private network namespace, with the bench's host addresses (harness.cpp
# host_locals), and writes the XDP program's xlated dump, its JIT image
# (disassembled when objdump is there) and every map it uses (info and
# contents) into OUTDIR, for bench/xlated_count.py. Root; take the netns
# lock: flock /tmp/secpol-netns.lock bench/xlated_dump.sh ...
set -u
SECPOL=$(realpath "$1")
POL=$2
OUT=$3
export SECPOL
source "$(dirname "$0")/../tests/e2e/lib.sh"
e2e_setup xlated
mkdir -p "$OUT"
secpolA load "$POL" --dev "$VA" --local 10.0.1.1/24 10.0.2.1/16 192.0.2.7/24 2001:db8:1::1/64 2001:db8::7/64 \
    >/dev/null || fail "load $POL"
id=$(ip -n "$NSA" -d -j link show "$VA" | $E2E_PY -c 'import json,sys; print(json.load(sys.stdin)[0]["xdp"]["prog"]["id"])')
bpftool prog dump xlated id "$id" >"$OUT/xlated.txt" || fail "xlated dump"
bpftool prog dump jited id "$id" >"$OUT/jited.txt" 2>/dev/null || true
for m in $(bpftool prog show id "$id" -j | $E2E_PY -c 'import json,sys; print(*json.load(sys.stdin)["map_ids"])'); do
    bpftool map show id "$m" -j >"$OUT/map-$m.info.json"
    bpftool map dump id "$m" -j >"$OUT/map-$m.json" 2>/dev/null
done
say "program $id dumped into $OUT"
