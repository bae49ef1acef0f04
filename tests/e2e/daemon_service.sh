#!/usr/bin/env bash
# Issue 13 item 1: secpol.service's logic without systemd as PID 1. The
# daemon runs in a namespace with a config dir of the test; a small
# NOTIFY_SOCKET listener records its sd_notify messages. Checked: READY=1
# and STATUS at start; SIGHUP = RELOADING=1 ... READY=1 and an atomic swap;
# a bad policy on reload keeps the old program, logs file:line:col and the
# daemon stays up; an interface that appears later gets its policy;
# on_stop = unload takes the policies off on SIGTERM. Then the unit file
# passes `systemd-analyze verify`.
source "$(dirname "$0")/lib.sh"
e2e_setup daemon_service
command -v systemd-analyze >/dev/null || fail "missing tool: systemd-analyze"

CONF="$E2E_TMP/conf"
mkdir -p "$CONF/interfaces.d"
LATE="spx${VA#spa}"  # an interface that does not exist yet
cat >"$CONF/interfaces.d/$VA.pol" <<'POL'
policy "service one"
exemptions { ike }
default permit
permit proto udp from any to me port 7001 "seven"
POL
cp "$CONF/interfaces.d/$VA.pol" "$CONF/interfaces.d/$LATE.pol"
echo "not a policy: ignored" >"$CONF/interfaces.d/README"

# The notify listener: one line per datagram. A simple command, so $! is
# the listener itself and the trap ends it (a path socket needs no namespace).
NOTIFY="$E2E_TMP/notify.sock"
$E2E_PY -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
out = open(sys.argv[2], "a", buffering=1); print("listening", file=out)
while True: out.write(s.recv(4096).decode().replace("\n", "|") + "\n")' "$NOTIFY" "$E2E_TMP/notify.log" &
E2E_PIDS="${E2E_PIDS:-} $!"
for i in $(seq 50); do [[ -S "$NOTIFY" ]] && break; sleep 0.05; done

NOTIFY_SOCKET="$NOTIFY" nsenter --net="/run/netns/$NSA" "$SECPOL" daemon --config-dir "$CONF" >"$E2E_TMP/daemon.log" 2>&1 &
DAEMON=$!
E2E_PIDS="${E2E_PIDS:-} $DAEMON"

wait_notify() {  # REGEX [N-th occurrence]: waits up to 10 s for the N-th matching message
    local n=${2:-1}
    for i in $(seq 200); do
        (($(grep -cE "$1" "$E2E_TMP/notify.log") >= n)) && return 0
        kill -0 $DAEMON 2>/dev/null || { cat "$E2E_TMP/daemon.log"; fail "daemon exited waiting for '$1'"; }
        sleep 0.05
    done
    cat "$E2E_TMP/notify.log" "$E2E_TMP/daemon.log"
    fail "no sd_notify message matching '$1' (#$n)"
}
prog_id() { secpolA status --dev "$1" --json | $E2E_PY -c 'import json,sys; print(json.load(sys.stdin)["interfaces"][0]["xdp"]["prog_id"])'; }
generation() { secpolA status --dev "$VA" --json | $E2E_PY -c 'import json,sys; print(json.load(sys.stdin)["interfaces"][0]["generation"])'; }

wait_notify '^READY=1\|STATUS=1 of 2 interfaces loaded; waiting for: '"$LATE"
say "ok: READY=1 with STATUS: $(grep -m1 READY "$E2E_TMP/notify.log")"
expect_eq "$(generation)" 1 "generation after start"
grep -q "$LATE: no such interface yet" "$E2E_TMP/daemon.log" || fail "the missing interface is not logged"

# The late interface appears: its policy is loaded without a reload.
ip -n "$NSA" link add "$LATE" type veth peer name "${LATE}p"  # no dummy driver here
ip -n "$NSA" link set "${LATE}p" up
ip -n "$NSA" link set "$LATE" up
for i in $(seq 100); do secpolA status --dev "$LATE" >/dev/null 2>&1 && break; sleep 0.05; done
secpolA status --dev "$LATE" >/dev/null 2>&1 || fail "policy not loaded on $LATE after it appeared"
say "ok: $LATE got its policy when it appeared ($(prog_id "$LATE"))"

# Good reload: RELOADING=1, then READY=1, and an atomic swap (generation 2).
sed -i 's/"service one"/"service two"/' "$CONF/interfaces.d/$VA.pol"
old=$(prog_id "$VA")
kill -HUP $DAEMON
wait_notify '^RELOADING=1\|MONOTONIC_USEC=[0-9]+'
wait_notify '^READY=1' 2
expect_eq "$(generation)" 2 "generation after a good reload"
expect_ne "$(prog_id "$VA")" "$old" "XDP program after a good reload"
order=$(grep -E '^(RELOADING|READY)' "$E2E_TMP/notify.log" | cut -d'|' -f1 | tr '\n' ' ')
expect_eq "$order" "READY=1 RELOADING=1 READY=1 " "sd_notify order"

# Bad reload: a syntax error at line 4, column 9. The old policy stays, the
# error names file:line:col, the daemon stays up and says so in STATUS.
good=$(prog_id "$VA")
cat >"$CONF/interfaces.d/$VA.pol" <<'POL'
policy "service broken"
exemptions { ike }
default permit
permit  prutocol udp from any to me port 7001 "seven"
POL
kill -HUP $DAEMON
wait_notify '^READY=1' 3
grep -E "$CONF/interfaces.d/$VA.pol:4:[0-9]+: " "$E2E_TMP/daemon.log" >"$E2E_TMP/err" || { cat "$E2E_TMP/daemon.log"; fail "no file:line:col error logged for the bad policy"; }
say "ok: logged: $(head -1 "$E2E_TMP/err")"
grep -q "STATUS=1 of 2 interfaces loaded; failed (old policy kept): $VA" "$E2E_TMP/notify.log" || { cat "$E2E_TMP/notify.log"; fail "STATUS does not name the failed interface"; }
expect_eq "$(prog_id "$VA")" "$good" "XDP program after a bad reload (the old one)"
expect_eq "$(generation)" 2 "generation after a bad reload"
kill -0 $DAEMON || fail "daemon died on a bad reload"
pyB send $IPA 7001 3 >/dev/null
secpolA counters --dev "$VA" --json >"$E2E_TMP/c.json"
expect_eq "$(jget "$E2E_TMP/c.json" 'd["rules"][0]["in"]["permit"]["packets"]')" 3 "old policy still counting after the bad reload"

# on_stop = unload: SIGTERM takes the policies off.
printf 'on_stop = unload\n' >"$CONF/secpol.conf"
cp "$CONF/interfaces.d/$LATE.pol" "$CONF/interfaces.d/$VA.pol"
kill -HUP $DAEMON
wait_notify '^READY=1' 4
kill -TERM $DAEMON
wait $DAEMON
expect_eq $? 0 "daemon exit status on SIGTERM"
wait_notify '^STOPPING=1'
secpolA status --dev "$VA" >/dev/null 2>&1 && fail "on_stop = unload left the policy on $VA"
secpolA status --dev "$LATE" >/dev/null 2>&1 && fail "on_stop = unload left the policy on $LATE"
[[ -z "$(ip -n "$NSA" -d link show "$VA" | grep -o 'prog/xdp')" ]] || fail "XDP program still attached after unload"
say "ok: on_stop = unload: no policy, no XDP program left"

# The unit file, with ExecStart pointing at the binary under test.
sed -e "s|@SECPOL_SBINDIR@|$(dirname "$SECPOL")|" -e "s|@SECPOL_SYSCONFDIR@|/etc|" \
    "$SECPOL_SOURCE_DIR/dist/systemd/secpol.service.in" >"$E2E_TMP/secpol.service"
systemd-analyze verify --man=no "$E2E_TMP/secpol.service" >"$E2E_TMP/verify" 2>&1 || { cat "$E2E_TMP/verify"; fail "systemd-analyze verify"; }
say "ok: systemd-analyze verify secpol.service: no complaints ($(wc -l <"$E2E_TMP/verify") lines)"
