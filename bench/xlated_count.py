#!/usr/bin/env python3
"""Counts the BPF instructions one frame executes in a loaded secpol program:
a small interpreter over its `bpftool prog dump xlated` text and the maps
dumped beside it (bench/xlated_dump.sh writes both).

    bench/xlated_count.py DUMPDIR [FRAME...]

FRAME: a name in FRAMES below (default: all), `hex:` and the frame's bytes
in hex, or `@FILE`: one frame in hex per line (frames aimed at another
policy's filters; the mean over the file is printed last). XLATED_TRACE=1 also prints
each executed instruction. Prints per frame the
instructions executed (calls into secpol_decide_in and the walk included,
an ld_imm64 counted once), the jumps taken (conditional or not), the XDP
action and the functions called. At
roughly 0.1 ns an instruction on this path, the count shows changes that
1 ns timing cannot (docs/design.md, "The fixed path", third round).

It knows what secpol's XDP programs use and nothing more: ALU and jumps,
loads and stores on the stack, the packet and global-data maps, the inlined
array and per-CPU array lookups, bpf_map_lookup_elem on hash maps (from the
dump) and BPF-to-BPF calls. Anything else stops it with an error.
Check its verdicts against the kernel's (BPF_PROG_TEST_RUN) when it changes."""
import glob, json, os, re, struct, sys

M64 = (1 << 64) - 1
M32 = (1 << 32) - 1


class Ptr:
    def __init__(self, region, off=0):
        self.region, self.off = region, off

    def __add__(self, n):
        return Ptr(self.region, self.off + n)

    def __repr__(self):
        return f"Ptr({self.region},{self.off})"


def load_dump(d):
    funcs, insns, cur = {}, {}, None
    for line in open(f"{d}/xlated.txt"):
        m = re.match(r"^\S.*?(\w+)\((.*)\):\s*$", line)
        if m and not line.startswith(" "):
            cur = m.group(1)
            funcs[cur] = None
            continue
        m = re.match(r"^\s*(\d+): \((\w\w)\) (.*)$", line)
        if m:
            i = int(m.group(1))
            insns[i] = (m.group(2), m.group(3).strip())
            if funcs.get(cur) is None:
                funcs[cur] = i
    maps = {}
    for f in glob.glob(f"{d}/map-*.info.json"):
        info = json.load(open(f))
        mid = info["id"]
        try:
            ents = json.load(open(f.replace(".info.json", ".json")))
        except Exception:
            ents = []
        vals = {}
        for e in ents:
            if "value" in e:
                vals[bytes(int(x, 16) for x in e["key"])] = bytearray(int(x, 16) for x in e["value"])
        maps[mid] = (info, vals)
    return funcs, insns, maps


class VM:
    def __init__(self, funcs, insns, maps, pkt):
        self.funcs, self.insns, self.maps = funcs, insns, maps
        self.mem = {"pkt": bytearray(pkt), "stack0": bytearray(512)}
        self.count = 0
        self.taken = 0  # jumps taken (conditional or not): each a redirect of the fetch
        self.trace = [] if os.environ.get("XLATED_TRACE") else None
        self.percpu = {}
        for mid, (info, vals) in maps.items():
            if info["type"] == "array" and b"\0\0\0\0" in vals:
                self.mem[("mapval", mid)] = vals[b"\0\0\0\0"]
        self.calls = []

    def region(self, p):
        if p.region not in self.mem:
            if isinstance(p.region, tuple) and p.region[0] == "percpu":
                self.mem[p.region] = bytearray(16)
            else:
                raise Exception(f"no region {p.region}")
        return self.mem[p.region]

    def ld(self, p, size):
        if isinstance(p.region, tuple) and p.region[0] == "mapobj":
            info, vals = self.maps[p.region[1]]
            if info["type"] == "percpu_array":
                # inlined lookup: the per-cpu pointers start at +312
                idx = (p.off - 312) // 8
                return Ptr(("percpu", p.region[1], idx), 0)
            # inlined array lookup: the values start at +312
            vs = info["bytes_value"]
            vs = (vs + 7) & ~7
            idx, fo = divmod(p.off - 312, vs)
            b = vals[idx.to_bytes(4, "little")]
            return int.from_bytes(b[fo:fo + size], "little")
        b = self.region(p)
        v = int.from_bytes(b[p.off:p.off + size], "little")
        return v

    def st(self, p, size, v):
        b = self.region(p)
        if isinstance(v, Ptr):
            b[p.off:p.off + size] = b"P" * size  # pointers spilled: keep a shadow
            self.mem.setdefault("shadow", {})[(p.region, p.off)] = v
            return
        b[p.off:p.off + size] = (v & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        self.mem.setdefault("shadow", {}).pop((p.region, p.off), None)

    def ldx(self, p, size):
        sh = self.mem.get("shadow", {}).get((p.region, p.off))
        if sh is not None and size == 8:
            return sh
        return self.ld(p, size)

    def run(self, ctx_data_len, entry):
        r = [0] * 11
        r[1] = Ptr("ctx", 0)
        self.mem["ctx"] = None
        r[10] = Ptr("stack0", 512)
        pc = self.funcs[entry]
        frames = []
        depth = 0
        plen = ctx_data_len
        while True:
            op, txt = self.insns[pc]
            self.count += 1
            if self.trace is not None:
                self.trace.append(f"{pc:5d}: {txt}")
            npc = pc + 1
            if op == "18":
                npc = pc + 2
            m = re.match(r"^(r|w)(\d+) = \*\(u(\d+) \*\)\(r(\d+) ([+-]\d+)\)$", txt)
            if m:
                dst, size, src, off = int(m.group(2)), int(m.group(3)) // 8, int(m.group(4)), int(m.group(5))
                base = r[src]
                if base.region == "ctx":
                    r[dst] = Ptr("pkt", 0) if off == 0 else Ptr("pkt", plen)
                else:
                    r[dst] = self.ldx(base + off, size)
                pc = npc
                continue
            m = re.match(r"^\*\(u(\d+) \*\)\(r(\d+) ([+-]\d+)\) = (r|w)?(-?\w+)$", txt)
            if m:
                size, dst, off = int(m.group(1)) // 8, int(m.group(2)), int(m.group(3))
                v = r[int(m.group(5))] if m.group(4) else int(m.group(5), 0)
                self.st(r[dst] + off, size, v)
                pc = npc
                continue
            m = re.match(r"^r(\d+) = map\[id:(\d+)\]\[0\]\+(\d+)$", txt)
            if m:
                r[int(m.group(1))] = Ptr(("mapval", int(m.group(2))), int(m.group(3)))
                pc = npc
                continue
            m = re.match(r"^r(\d+) = map\[id:(\d+)\]$", txt)
            if m:
                r[int(m.group(1))] = Ptr(("mapobj", int(m.group(2))), 0)
                pc = npc
                continue
            m = re.match(r"^(r|w)(\d+) = -(r|w)(\d+)$", txt)
            if m and m.group(2) == m.group(4):
                mask = M32 if m.group(1) == "w" else M64
                r[int(m.group(2))] = -r[int(m.group(2))] & mask
                pc = npc
                continue
            m = re.match(r"^(r|w)(\d+) = (be|le)(\d+) (r|w)(\d+)$", txt)
            if m:
                v, bits = r[int(m.group(2))], int(m.group(4))
                v &= (1 << bits) - 1
                if m.group(3) == "be":
                    v = int.from_bytes(v.to_bytes(bits // 8, "little"), "big")
                r[int(m.group(2))] = v
                pc = npc
                continue
            m = re.match(r"^(r|w)(\d+) (\S*)= (r|w)?(-?\w+)$", txt)
            if m and not txt.startswith("if"):
                w = m.group(1) == "w"
                d = int(m.group(2))
                o = m.group(3)
                s = r[int(m.group(5))] if m.group(4) else int(m.group(5), 0)
                a = r[d]
                if o == "":
                    r[d] = s if isinstance(s, Ptr) else s & (M32 if w else M64)
                elif isinstance(a, Ptr) or isinstance(s, Ptr):
                    if o == "+":
                        r[d] = (a + s) if isinstance(a, Ptr) else (s + a)
                    elif o == "-" and isinstance(a, Ptr) and isinstance(s, Ptr):
                        r[d] = a.off - s.off
                    elif o == "-":
                        r[d] = a + (-s)
                    elif o == "&" and w:  # w3 = w9 of a pointer... unlikely
                        raise Exception(f"ptr alu {txt}")
                    else:
                        raise Exception(f"ptr alu {txt} {a} {s}")
                else:
                    mask = M32 if w else M64
                    a &= mask
                    s &= mask
                    if o == "":
                        v = s
                    elif o == "+":
                        v = a + s
                    elif o == "-":
                        v = a - s
                    elif o == "*":
                        v = a * s
                    elif o == "&":
                        v = a & s
                    elif o == "|":
                        v = a | s
                    elif o == "^":
                        v = a ^ s
                    elif o == "<<":
                        v = a << s
                    elif o == ">>":
                        v = a >> s
                    elif o == "s>>":
                        bits = 32 if w else 64
                        sa = a - (1 << bits) if a >> (bits - 1) else a
                        v = sa >> s
                    elif o == "/":
                        v = a // s if s else 0
                    elif o == "%":
                        v = a % s if s else a
                    else:
                        raise Exception(f"alu {txt}")
                    r[d] = v & mask
                pc = npc
                continue
            m = re.match(r"^(r|w)(\d+) = -(r|w)(\d+)$", txt)
            if m:
                r[int(m.group(2))] = (-r[int(m.group(4))]) & (M32 if m.group(1) == "w" else M64)
                pc = npc
                continue
            # gotol (BPF_JMP32 | BPF_JA, 32-bit offset in imm), as bpftool 7 prints it
            m = re.match(r"^if w0 jmp (-?\w+) goto pc\+0$", txt)
            if m and op == "06":
                off = int(m.group(1), 0) & M32
                pc = pc + 1 + (off - (1 << 32) if off >> 31 else off)
                self.taken += 1
                continue
            m = re.match(r"^if (r|w)(\d+) (\S+) (r|w)?(-?\w+) goto pc([+-]\d+)$", txt)
            if m:
                w = m.group(1) == "w"
                a = r[int(m.group(2))]
                b = r[int(m.group(5))] if m.group(4) else int(m.group(5), 0)
                o = m.group(3)
                if isinstance(a, Ptr) or isinstance(b, Ptr):
                    if isinstance(a, Ptr) and isinstance(b, Ptr):
                        a, b = a.off, b.off
                    elif isinstance(a, Ptr):  # a non-null kernel address, low half too
                        a = 0xFFFF888012340000 + a.off
                    else:
                        b = 0xFFFF888012340000 + b.off
                bits = 32 if w else 64
                mask = (1 << bits) - 1
                a &= mask
                b &= mask
                sa = a - (1 << bits) if a >> (bits - 1) else a
                sb = b - (1 << bits) if b >> (bits - 1) else b
                t = {"==": a == b, "!=": a != b, ">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b,
                     "s>": sa > sb, "s>=": sa >= sb, "s<": sa < sb, "s<=": sa <= sb, "&": (a & b) != 0}[o]
                pc = pc + 1 + int(m.group(6)) if t else npc
                self.taken += t
                continue
            m = re.match(r"^goto pc([+-]\d+)$", txt)
            if m:
                pc = pc + 1 + int(m.group(1))
                self.taken += 1
                continue
            m = re.match(r"^call pc([+-]\d+)#", txt)
            if m:
                frames.append((npc, r[6], r[7], r[8], r[9], r[10]))
                depth += 1
                self.mem[f"stack{depth}"] = bytearray(512)
                r[10] = Ptr(f"stack{depth}", 512)
                self.calls.append(txt.split("#")[1])
                pc = pc + 1 + int(m.group(1))
                continue
            m = re.match(r"^call (\w+)#", txt)
            if m:
                name = m.group(1)
                if name == "bpf_map_lookup_elem":
                    mid = r[1].region[1]
                    info, vals = self.maps[mid]
                    kb = bytes(self.region(r[2])[r[2].off:r[2].off + info["bytes_key"]])
                    if kb in vals:
                        self.mem[("hv", mid, kb)] = vals[kb]
                        r[0] = Ptr(("hv", mid, kb), 0)
                    else:
                        r[0] = 0
                else:
                    raise Exception(f"helper {name}")
                self.calls.append(name)
                pc = npc
                continue
            if txt == "exit":
                if not frames:
                    return r[0]
                npc, r[6], r[7], r[8], r[9], r[10] = frames.pop()
                depth -= 1
                pc = npc
                continue
            if txt == "r0 = r0" or re.match(r"^r(\d+) = r\1$", txt):
                pc = npc
                continue
            raise Exception(f"unknown insn {pc}: {txt}")


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def eth(t=0x0800, dst=b"\x02" * 6):
    return dst + b"\x02\x00\x00\x00\x00\x01" + struct.pack(">H", t)


def ipv4(src, dst, proto, l4, ihl=5):
    tot = 20 + len(l4)
    h = struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, 0, tot, 0, 0, 64, proto, 0, ip4(src), ip4(dst))
    return h + l4


def ipv6(src, dst, nh, l4):
    import ipaddress
    h = struct.pack(">IHBB", 0x60000000, len(l4), nh, 64)
    return h + ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed + l4


def udp(sp, dp, payload=b"\0" * 18):
    return struct.pack(">HHHH", sp, dp, 8 + len(payload), 0) + payload


def tcp(sp, dp):
    return struct.pack(">HHIIBBHHH", sp, dp, 0, 0, 0x50, 0x10, 1024, 0, 0)


# The fixed cases of secpol_bench's special policies, as frames with 18-byte
# UDP payloads; f-*: aimed at filters r1, r4 and r7 of
# `secpol_bench --write-policy 10 first-match FILE` (seed 1010).
FRAMES = {
    "ike": eth() + ipv4("10.9.0.1", "10.9.0.2", 17, udp(500, 500)),
    "kerberos": eth() + ipv4("10.9.0.1", "10.9.0.2", 6, tcp(40000, 88)),
    "multicast": eth() + ipv4("10.9.0.1", "224.0.0.251", 17, udp(5353, 5353)),
    "rsvp": eth() + ipv4("10.9.0.1", "10.9.0.2", 46, b"\0" * 20),
    "bcast": eth() + ipv4("10.9.0.1", "255.255.255.255", 17, udp(68, 67)),
    "dbcast": eth() + ipv4("10.9.0.1", "10.0.1.255", 17, udp(40000, 9999)),
    "default-udp": eth() + ipv4("172.16.0.1", "172.16.0.2", 17, udp(40000, 9999)),
    "default-tcp": eth() + ipv4("172.16.0.1", "172.16.0.2", 6, tcp(40000, 9999)),
    "to-local": eth() + ipv4("172.16.0.1", "10.0.1.1", 17, udp(40000, 9999)),
    "esp": eth() + ipv4("172.16.0.1", "172.16.0.2", 50, b"\0" * 16),
    "malformed": eth() + ipv4("10.9.0.1", "10.9.0.2", 17, udp(1, 2), ihl=3),
    "nonip": eth(0x0806) + b"\0" * 28,
    "kerberos6": eth(0x86DD) + ipv6("2001:db8:9::1", "2001:db8:9::2", 6, tcp(40000, 88)),
    "default6-udp": eth(0x86DD) + ipv6("2001:db8:9::1", "2001:db8:9::2", 17, udp(40000, 9999)),
    "to-local6": eth(0x86DD) + ipv6("2001:db8:9::1", "2001:db8:1::1", 17, udp(40000, 9999)),
    "f-r1-tcp": eth() + ipv4("10.217.239.253", "10.50.0.1", 6, tcp(26339, 29071)),
    "f-r4-udp": eth() + ipv4("10.50.0.1", "10.11.93.7", 17, udp(40000, 551)),
    "f-r7-any": eth() + ipv4("10.184.152.9", "10.117.3.4", 17, udp(40000, 9999)),
}

if __name__ == "__main__":
    d = sys.argv[1]
    funcs, insns, maps = load_dump(d)
    frames = []
    for a in sys.argv[2:] or list(FRAMES):
        if a.startswith("hex:"):
            frames.append((a[4:16] + "..", bytes.fromhex(a[4:])))
        elif a.startswith("@"):
            lines = [ln.strip() for ln in open(a[1:]) if ln.strip()]
            frames += [(f"{a[1:].rsplit('/', 1)[-1]}#{i}", bytes.fromhex(ln)) for i, ln in enumerate(lines)]
        else:
            frames.append((a, FRAMES[a]))
    total = 0
    for n, pkt in frames:
        vm = VM(funcs, insns, maps, pkt)
        rv = vm.run(len(pkt), "secpol_ingress")
        called = ",".join(c.split("_prog_")[-1].split("_", 1)[-1] for c in vm.calls)
        total += vm.count
        print(f"{n:12s} insns {vm.count:4d}  taken {vm.taken:2d}  action {rv}  calls {called}")
        if vm.trace is not None:
            print("\n".join(vm.trace))
    if len(frames) > 1:
        print(f"mean insns over {len(frames)} frames: {total / len(frames):.1f}")
