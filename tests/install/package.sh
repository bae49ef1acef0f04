#!/usr/bin/env bash
# Issue 13 item 9: `make install` into a scratch root (DESTDIR) puts the
# binary, the unit, both man pages, the bash completion, the config and the
# example policies in place; the installed secpol checks every example; the
# unit passes systemd-analyze verify; `cpack` builds a .deb whose control
# declares its dependencies and whose contents are the same files, and
# lintian finds no error in it.
set -u -o pipefail
BUILD=$(cd "${1:?usage: package.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
say() { printf '[install] %s\n' "$*"; }
fail() { printf '[install] FAIL: %s\n' "$*" >&2; exit 1; }
for t in pandoc dpkg-deb cpack systemd-analyze man; do command -v $t >/dev/null || fail "missing tool: $t (make deps)"; done
ROOT=$(mktemp -d /tmp/secpol-install.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT

# Configure for /usr (the package's layout; only install paths change, nothing is recompiled).
cmake -S "$SRC" -B "$BUILD" -DCMAKE_INSTALL_PREFIX=/usr >/dev/null || fail "cmake configure"
cmake --build "$BUILD" --target secpol man changelog >/dev/null || fail "build secpol and man pages"
DESTDIR="$ROOT/root" cmake --install "$BUILD" >"$ROOT/install.log" || fail "cmake --install"
R="$ROOT/root"
for f in usr/sbin/secpol lib/systemd/system/secpol.service usr/share/man/man8/secpol.8.gz \
    usr/share/man/man5/secpol.pol.5.gz usr/share/bash-completion/completions/secpol \
    etc/secpol/secpol.conf etc/secpol/interfaces.d/README usr/share/doc/secpol/copyright; do
    [[ -s "$R/$f" ]] || fail "not installed: /$f"
done
n=$(ls "$R"/usr/share/doc/secpol/examples/*.pol | wc -l)
((n >= 1)) || fail "no example policies installed"
say "ok: binary, unit, secpol(8), secpol.pol(5), completion, config and $n examples under DESTDIR"

# The installed binary checks every shipped example.
for p in "$R"/usr/share/doc/secpol/examples/*.pol; do
    "$R/usr/sbin/secpol" check "$p" >"$ROOT/check.out" 2>&1 || { cat "$ROOT/check.out"; fail "installed secpol check $(basename "$p")"; }
done
say "ok: installed secpol check passes on all $n examples"

# Man pages render, and say what they should.
man -l "$R/usr/share/man/man8/secpol.8.gz" 2>/dev/null | col -bx | tr -s " " >"$ROOT/man8.txt"
grep -q "secpol daemon" "$ROOT/man8.txt" && grep -q "interfaces.d/IFACE.pol" "$ROOT/man8.txt" || fail "secpol(8) does not render"
man -l "$R/usr/share/man/man5/secpol.pol.5.gz" 2>/dev/null | col -bx | tr -s " " >"$ROOT/man5.txt"
grep -q "exemptions" "$ROOT/man5.txt" || fail "secpol.pol(5) does not render"
say "ok: secpol(8) ($(wc -l <"$ROOT/man8.txt") lines) and secpol.pol(5) ($(wc -l <"$ROOT/man5.txt") lines) render with man"
bash -n "$R/usr/share/bash-completion/completions/secpol" || fail "completion script syntax"
grep -q "^ExecStart=/usr/sbin/secpol daemon --config-dir /etc/secpol$" "$R/lib/systemd/system/secpol.service" || fail "unit ExecStart"
# Verified as installed, but for ExecStart pointing into the scratch root.
sed "s|^ExecStart=/usr/sbin/|ExecStart=$R/usr/sbin/|" "$R/lib/systemd/system/secpol.service" >"$ROOT/secpol.service"
systemd-analyze verify --man=no "$ROOT/secpol.service" >"$ROOT/verify" 2>&1 ||
    { cat "$ROOT/verify"; fail "systemd-analyze verify of the installed unit"; }
say "ok: systemd-analyze verify of the installed unit"

# The package.
(cd "$BUILD" && cpack -G DEB >"$ROOT/cpack.log" 2>&1) || { cat "$ROOT/cpack.log"; fail "cpack -G DEB"; }
DEB=$(ls -t "$BUILD"/secpol_*.deb | head -1)
[[ -f "$DEB" ]] || fail "no .deb written"
dpkg-deb --info "$DEB" >"$ROOT/info" || fail "dpkg-deb --info"
dep=$(sed -n 's/^ Depends: //p' "$ROOT/info")
for lib in libbpf1 libc6 libsystemd0 libcpp-httplib; do
    [[ "$dep" == *"$lib"* ]] || fail "Depends lacks $lib: '$dep'"
done
say "ok: $(basename "$DEB") Depends: $dep"
dpkg-deb --contents "$DEB" | awk '{print $6}' | sed 's|^\./|/|' >"$ROOT/contents"
for f in /usr/sbin/secpol /lib/systemd/system/secpol.service /usr/share/man/man8/secpol.8.gz \
    /usr/share/man/man5/secpol.pol.5.gz /etc/secpol/secpol.conf; do
    grep -qx "$f" "$ROOT/contents" || fail ".deb lacks $f"
done
dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles | grep -qx /etc/secpol/secpol.conf || fail "secpol.conf is not a conffile"
# The packaged binary runs.
mkdir "$ROOT/x" && dpkg-deb -x "$DEB" "$ROOT/x" && "$ROOT/x/usr/sbin/secpol" check "$SRC/policies/web-server.pol" >/dev/null ||
    fail "the packaged secpol does not run"
say "ok: .deb holds the binary, unit, man pages and conffiles; its secpol runs"
if command -v lintian >/dev/null; then
    lintian --no-tag-display-limit "$DEB" >"$ROOT/lintian" 2>&1
    errors=$(grep -c '^E:' "$ROOT/lintian")
    warnings=$(grep -c '^W:' "$ROOT/lintian")
    ((errors == 0)) || { cat "$ROOT/lintian"; fail "lintian: $errors errors"; }
    say "ok: lintian: 0 errors, $warnings warnings"
fi
say PASS
