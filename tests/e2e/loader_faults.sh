# Loader faults from outside secpol: the interface is deleted in the middle
# of a load or swap (SECPOL_STOP_AT=STEP stops the loader there), the pin dir
# is read-only (a read-only bpffs), the state dir is full (a 64 KiB tmpfs).
# Each ends in an error line naming the interface and the interface as it was
# (or gone); a later unload always succeeds. The mounts are private to this
# test (under its temp dir) and removed by its trap.
source "$(dirname "$0")/lib.sh"
e2e_setup fault

RO="$E2E_TMP/robpf"
FULL="$E2E_TMP/full"
fault_cleanup() {
    local rc=$?
    [[ -n ${NSA:-} && -e /run/netns/$NSA ]] &&
        SECPOL_RUN_DIR="$FULL" SECPOL_BPFFS="$RO" nsenter --net="/run/netns/$NSA" "$SECPOL" unload --dev "$VA" >/dev/null 2>&1
    mountpoint -q "$RO" && umount "$RO"
    mountpoint -q "$FULL" && umount "$FULL"
    (exit $rc)
    e2e_cleanup
}
trap fault_cleanup EXIT

cat >"$E2E_TMP/p1.pol" <<'POL'
policy "fault one"
exemptions windows2000
default permit
block proto udp from any to me port 7002 "udp-blocked"
POL
sed 's/fault one/fault two/' "$E2E_TMP/p1.pol" >"$E2E_TMP/p2.pol"

# One error line naming the interface and matching PATTERN, non-zero exit.
expect_error() {  # WHAT PATTERN CMD...
    local what=$1 pattern=$2
    shift 2
    "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err" && fail "$what: succeeded, expected a failure"
    [[ $(grep -c . "$E2E_TMP/err") == 1 ]] || fail "$what: expected one error line: $(cat "$E2E_TMP/err")"
    grep -Eq "$VA: .*$pattern" "$E2E_TMP/err" || fail "$what: '$(cat "$E2E_TMP/err")' does not match /$VA: .*$pattern/"
    say "ok: $what -> $(cat "$E2E_TMP/err")"
}
snapshot() {  # label, ids and liveness of what status reports
    secpolA status --dev "$VA" --json >"$E2E_TMP/st.json" || fail "status: $(cat "$E2E_TMP/st.json")"
    jget "$E2E_TMP/st.json" 'd["interfaces"][0]["policy"], d["interfaces"][0]["xdp"]["prog_id"], d["interfaces"][0]["tc"]["prog_id"], d["interfaces"][0]["xdp"]["attached"], d["interfaces"][0]["tc"]["attached"]'
}
nothing_left() {  # WHAT [ENV...]: no state, pins, XDP program or tc filter
    secpolA status --dev "$VA" >/dev/null 2>&1 && fail "$1: a state is left"
    [[ -z $(ls -A "/sys/fs/bpf/secpol/$VA" 2>/dev/null) ]] || fail "$1: pins left"
    if ip -n "$NSA" link show "$VA" >/dev/null 2>&1; then
        ip -n "$NSA" link show "$VA" | grep -q prog/xdp && fail "$1: XDP program left"
        [[ -z $(tc -n "$NSA" filter show dev "$VA" egress 2>/dev/null) ]] || fail "$1: tc filter left"
    fi
    say "ok: $1: nothing left"
}
recreate_veth() {
    ip link add "$VA" netns "$NSA" type veth peer name "$VB" netns "$NSB" || fail "re-create veth"
    ip -n "$NSA" addr add "$IPA/24" dev "$VA"
    ip -n "$NSB" addr add "$IPB/24" dev "$VB"
    ip -n "$NSA" link set "$VA" up
    ip -n "$NSB" link set "$VB" up
}
# Starts a load stopped at STEP (SIGSTOP), deletes the interface, resumes it.
load_while_deleting() {  # STEP POLICY
    SECPOL_STOP_AT=$1 nsenter --net="/run/netns/$NSA" "$SECPOL" load "$2" --dev "$VA" >"$E2E_TMP/out" 2>"$E2E_TMP/err" &
    local pid=$! i
    for i in $(seq 200); do
        [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == T ]] && break
        sleep 0.05
    done
    [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == T ]] || fail "load did not stop at $1"
    ip -n "$NSA" link del "$VA" || fail "delete $VA"
    kill -CONT "$pid"
    wait "$pid" && fail "load with $VA deleted at $1 succeeded: $(cat "$E2E_TMP/out")"
    [[ $(grep -c . "$E2E_TMP/err") -le 2 ]] || fail "at $1: too many error lines: $(cat "$E2E_TMP/err")"
    grep -Eq "$VA: " "$E2E_TMP/err" || fail "at $1: error does not name $VA: $(cat "$E2E_TMP/err")"
    say "ok: interface deleted at $1 -> $(tail -1 "$E2E_TMP/err")"
}

# --- interface vanishes mid-load: first load, then swap ---
for step in xdp tc pinned; do
    load_while_deleting "$step" "$E2E_TMP/p1.pol"
    nothing_left "first load, interface deleted at $step"
    secpolA unload --dev "$VA" >/dev/null || fail "unload after deletion at $step"
    recreate_veth
done
for step in xdp tc pinned; do
    secpolA load "$E2E_TMP/p1.pol" --dev "$VA" >/dev/null || fail "load p1"
    load_while_deleting "$step" "$E2E_TMP/p2.pol"
    # The old state stays (the interface is gone: nothing is attached) until unload.
    secpolA status --dev "$VA" --json >"$E2E_TMP/st.json" || fail "status after deletion at $step"
    expect_eq "$(jget "$E2E_TMP/st.json" 'd["interfaces"][0]["policy"], d["interfaces"][0]["xdp"]["attached"], d["interfaces"][0]["tc"]["attached"]')" \
        "('fault one', False, False)" "swap, interface deleted at $step: status"
    secpolA unload --dev "$VA" >/dev/null || fail "unload after deletion at $step (swap)"
    nothing_left "swap, interface deleted at $step, then unload"
    recreate_veth
done

# --- pin dir unwritable: a read-only bpffs ---
mkdir -p "$RO"
mount -t bpf -o ro bpf "$RO" || fail "mount a read-only bpffs"
SECPOL_BPFFS="$RO" expect_error "pin dir unwritable (first load)" "Read-only file system" secpolA load "$E2E_TMP/p1.pol" --dev "$VA"
nothing_left "pin dir unwritable"
mount -o remount,rw "$RO" || fail "remount bpffs rw"
SECPOL_BPFFS="$RO" secpolA load "$E2E_TMP/p1.pol" --dev "$VA" >/dev/null || fail "load on the private bpffs"
before=$(SECPOL_BPFFS="$RO" snapshot)
mount -o remount,ro "$RO" || fail "remount bpffs ro"
SECPOL_BPFFS="$RO" expect_error "pin dir unwritable (swap)" "Read-only file system" secpolA load "$E2E_TMP/p2.pol" --dev "$VA"
expect_eq "$(SECPOL_BPFFS="$RO" snapshot)" "$before" "after a swap with the pin dir unwritable"
mount -o remount,rw "$RO"
SECPOL_BPFFS="$RO" secpolA unload --dev "$VA" >/dev/null || fail "unload (private bpffs)"
umount "$RO"

# --- disk full for the state: a 64 KiB tmpfs as the run dir ---
mkdir -p "$FULL"
mount -t tmpfs -o size=64k tmpfs "$FULL" || fail "mount a small tmpfs"
dd if=/dev/zero of="$FULL/fill" bs=4k 2>/dev/null
SECPOL_RUN_DIR="$FULL" expect_error "state dir full (first load)" "No space left on device" secpolA load "$E2E_TMP/p1.pol" --dev "$VA"
SECPOL_RUN_DIR="$FULL" nothing_left "state dir full"
rm -f "$FULL/fill"
SECPOL_RUN_DIR="$FULL" secpolA load "$E2E_TMP/p1.pol" --dev "$VA" >/dev/null || fail "load with room for the state"
before=$(SECPOL_RUN_DIR="$FULL" snapshot)
dd if=/dev/zero of="$FULL/fill" bs=4k 2>/dev/null
SECPOL_RUN_DIR="$FULL" expect_error "state dir full (swap)" "No space left on device" secpolA load "$E2E_TMP/p2.pol" --dev "$VA"
expect_eq "$(SECPOL_RUN_DIR="$FULL" snapshot)" "$before" "after a swap with the state dir full"
start_sink A 10 7002
pyB send "$IPA" 7002 3 >/dev/null
stop_sinks
expect_eq "$(sink_count A 7002)" 0 "the old policy still blocks"
SECPOL_RUN_DIR="$FULL" secpolA unload --dev "$VA" >/dev/null || fail "unload with the state dir full"
SECPOL_RUN_DIR="$FULL" nothing_left "unload with the state dir full"
