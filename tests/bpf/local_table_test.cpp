// The local-address table of the program (bpf/include/local_table.h): `me`
// and directed broadcasts come from a .data table without map lookups, a
// host whose addresses overflow it falls back to the hash maps, and every
// set_locals flips to a complete new table. Checked on the production path
// (trace off: the verdict alone tells local from not local) and in trace
// mode against the reference.
#include <bpf/bpf.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "bpf_util.h"
#include "local_image.h"
#include "locals.h"
#include "pins.h"

using namespace secpol;
using namespace secpol::bpftest;

namespace {

// UDP to port 7777 is blocked exactly when the source or the destination is
// this host.
const char* kPolicy =
    "policy \"locals\"\nexemptions none\norder first-match\ndefault permit\n"
    "block proto udp from me to any port 7777 \"from me\"\n"
    "block proto udp from any to me port 7777 \"to me\"\n";

// Broadcast exemption on, no `me`: a local directed broadcast is permitted
// (exempt), anything else to port 7777 blocked.
const char* kBcastPolicy =
    "policy \"bcast\"\nexemptions { broadcast }\norder first-match\ndefault permit\n"
    "block proto udp from any to any port 7777 \"all\"\n";

pkt::Bytes udp(const std::string& src, const std::string& dst) {
    if (src.find(':') != std::string::npos)
        return (pkt::Ethernet{} / pkt::IPv6{.src = src, .dst = dst} / pkt::UDP{.sport = 40000, .dport = 7777})
            .bytes();
    return (pkt::Ethernet{} / pkt::IPv4{.src = src, .dst = dst} / pkt::UDP{.sport = 40000, .dport = 7777})
        .bytes();
}

// 300 more host addresses (10.77.x.y, no broadcasts among them): more than
// the table's slots, so the loader marks it overflowed and the program asks
// the hash maps.
void add_overflowing(ref::LocalTable& t) {
    for (int i = 0; i < 300; ++i)
        EXPECT_TRUE(t.add("10.77." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 1)));
}

// The fds of the program's table (.data.locals) and its selector word.
struct TableFds {
    int table = -1, sel = -1;
};

TableFds table_fds(const rt::LoadedPolicy& lp) {
    auto fd_of = [&](const char* suffix) {
        bpf_map* m = nullptr;
        bpf_object__for_each_map(m, lp.object()) {
            std::string n = bpf_map__name(m);
            if (n.size() >= std::strlen(suffix) &&
                n.compare(n.size() - std::strlen(suffix), std::string::npos, suffix) == 0)
                return bpf_map__fd(m);
        }
        return -1;
    };
    TableFds f{fd_of(".data.locals"), fd_of(".data.localsel")};
    EXPECT_GE(f.table, 0);
    EXPECT_GE(f.sel, 0);
    return f;
}

uint32_t selector(const rt::LoadedPolicy& lp) {
    const uint32_t zero = 0;
    uint32_t sel = 0;
    EXPECT_EQ(bpf_map_lookup_elem(table_fds(lp).sel, &zero, &sel), 0);
    return sel;
}

// The program's table as the kernel holds it: the copy the selector names.
// Every selector word the loader writes names the copy twice (its index and
// its offset) and says whether the program probes it: checked here too.
secpol_local_tab current_table(const rt::LoadedPolicy& lp) {
    const uint32_t zero = 0, sel = selector(lp);
    auto both = std::make_unique<secpol_local_tab[]>(2);
    EXPECT_EQ(bpf_map_lookup_elem(table_fds(lp).table, &zero, both.get()), 0);
    const secpol_local_tab& t = both[sel & SECPOL_LOCALSEL_COPY];
    EXPECT_EQ(sel, secpol_localsel(sel & SECPOL_LOCALSEL_COPY, t.overflow)) << "selector word " << sel;
    EXPECT_EQ(sel & SECPOL_LOCALSEL_OFF, (sel & SECPOL_LOCALSEL_COPY) ? SECPOL_LOCALSEL_OFF : 0u);
    EXPECT_EQ((sel & SECPOL_LOCALSEL_TABLE) != 0, t.overflow == 0) << "probe the table exactly when complete";
    return t;
}

// Runs the `pass` packets (each to be passed) and the `block` ones (each to
// be blocked) in rounds on another thread while the loader swaps the host's
// addresses 60 times through set_of(round % 3): no packet may get the other
// verdict, whichever copy, offset or table bit it saw.
template <class H, class SetOf>
void expect_verdicts_while_swapping(H& h, SetOf set_of, const std::vector<const pkt::Bytes*>& pass,
                                    const std::vector<const pkt::Bytes*>& block) {
    std::atomic<bool> stop{false};
    std::atomic<unsigned> runs{0}, wrong{0};
    std::thread traffic([&] {
        while (!stop.load()) {
            for (const auto* b : pass)
                if (!passed(SECPOL_DIR_IN, h->run(SECPOL_DIR_IN, *b).retval)) ++wrong;
            for (const auto* b : block)
                if (passed(SECPOL_DIR_IN, h->run(SECPOL_DIR_IN, *b).retval)) ++wrong;
            ++runs;
        }
    });
    for (int round = 0; round < 60; ++round) {
        auto s = h->loaded->set_locals(set_of(round % 3));
        EXPECT_TRUE(s.ok()) << s.error().message;
    }
    stop = true;
    traffic.join();
    EXPECT_GT(runs.load(), 0u);
    EXPECT_EQ(wrong.load(), 0u) << "of " << runs.load() << " rounds of " << pass.size() + block.size()
                                << " packets";
}

// Every combination of local / not local source and destination, both
// families, through the production program and the trace program.
void check_all(const ref::LocalTable& locals, const std::vector<std::string>& local4,
               const std::vector<std::string>& local6, const std::string& what) {
    for (bool trace : {false, true}) {
        auto h = Harness::load(kPolicy, locals, trace);
        ASSERT_TRUE(h) << what;
        std::vector<std::pair<std::string, std::string>> pairs;
        for (const auto& l : local4)
            for (const char* other : {"198.51.100.9", "10.200.0.1"}) {
                pairs.push_back({l, other});
                pairs.push_back({other, l});
            }
        pairs.push_back({"198.51.100.9", "203.0.113.5"});
        pairs.push_back({local4.front(), local4.back()});
        for (const auto& l : local6)
            for (const char* other : {"2001:db8:ffff::9", "fe80::1"}) {
                pairs.push_back({l, other});
                pairs.push_back({other, l});
            }
        pairs.push_back({"2001:db8:ffff::9", "2001:db8:ffff::10"});
        for (const auto& [s, d] : pairs) {
            auto b = udp(s, d);
            const std::string w = what + (trace ? " trace " : " production ") + s + " > " + d;
            auto ref = h->reference(SECPOL_DIR_IN, b);
            for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
                auto r = h->run(dir, b);
                EXPECT_EQ(passed(dir, r.retval), ref.verdict == SECPOL_V_PERMIT) << w;
                if (trace) expect_agree(*h, dir, b, w);
            }
        }
    }
}

}  // namespace

TEST(LocalTable, FewAddressesLiveInTheTable) {
    require_root();
    auto locals = locals_of({"10.0.1.1/24", "10.0.2.1/16", "192.0.2.7/24", "2001:db8:1::1", "2001:db8::7"});
    auto h = Harness::load(kPolicy, locals, false);
    ASSERT_TRUE(h);
    auto t = current_table(*h->loaded);
    EXPECT_EQ(t.overflow, 0u);
    const uint32_t me4[4] = {0, 0, 0xffff, 0x0a000101};
    const uint32_t bc4[4] = {0, 0, 0xffff, 0x0a0001ff};
    EXPECT_EQ(rt::local_table_flags(t, me4), uint32_t(SECPOL_LOCAL_ADDR));
    EXPECT_EQ(rt::local_table_flags(t, bc4), uint32_t(SECPOL_LOCAL_BCAST));
    check_all(locals, {"10.0.1.1", "10.0.2.1", "192.0.2.7"}, {"2001:db8:1::1", "2001:db8::7"}, "few");
}

TEST(LocalTable, ManyAddressesOverflowToTheHashMaps) {
    require_root();
    // 600 IPv4 addresses cannot sit in 256 slots: the program must use the maps.
    ref::LocalTable locals;
    std::vector<std::string> v4;
    for (int i = 0; i < 600; ++i) {
        std::string a = "10." + std::to_string(100 + i / 250) + "." + std::to_string(i % 250) + ".1";
        ASSERT_TRUE(locals.add(a));
        if (i % 97 == 0) v4.push_back(a);
    }
    ASSERT_TRUE(locals.add("2001:db8:1::1"));
    auto h = Harness::load(kPolicy, locals, false);
    ASSERT_TRUE(h);
    EXPECT_EQ(current_table(*h->loaded).overflow, 1u);
    check_all(locals, v4, {"2001:db8:1::1"}, "overflow");
}

TEST(LocalTable, SetLocalsFlipsToACompleteTable) {
    require_root();
    for (const char* text : {kPolicy, kBcastPolicy}) {
        auto h = Harness::load(text, locals_of({"10.0.1.1/24"}), false);
        ASSERT_TRUE(h);
        auto verdict = [&](const std::string& src, const std::string& dst) {
            auto b = udp(src, dst);
            auto r = h->run(SECPOL_DIR_IN, b);
            auto ref = h->reference(SECPOL_DIR_IN, b);
            EXPECT_EQ(passed(SECPOL_DIR_IN, r.retval), ref.verdict == SECPOL_V_PERMIT)
                << text << src << " > " << dst;
            return passed(SECPOL_DIR_IN, r.retval);
        };
        const bool me_policy = text == kPolicy;
        // Local now: blocked (to me) or exempt (directed broadcast).
        EXPECT_EQ(verdict("198.51.100.9", me_policy ? "10.0.1.1" : "10.0.1.255"), !me_policy);
        // Several moves, both tables reused in turn; the overflowing one in between.
        for (int round = 0; round < 3; ++round) {
            h->locals = locals_of({"10.5.0.1/16"});
            ASSERT_TRUE(h->loaded->set_locals(h->locals).ok());
            EXPECT_EQ(current_table(*h->loaded).overflow, 0u);
            EXPECT_EQ(verdict("198.51.100.9", me_policy ? "10.0.1.1" : "10.0.1.255"), me_policy);
            EXPECT_EQ(verdict("198.51.100.9", me_policy ? "10.5.0.1" : "10.5.255.255"), !me_policy);

            ref::LocalTable many = locals_of({"10.0.1.1/24"});
            add_overflowing(many);
            h->locals = many;
            ASSERT_TRUE(h->loaded->set_locals(h->locals).ok());
            EXPECT_EQ(current_table(*h->loaded).overflow, 1u);
            EXPECT_EQ(verdict("198.51.100.9", me_policy ? "10.0.1.1" : "10.0.1.255"), !me_policy);
            EXPECT_EQ(verdict("198.51.100.9", me_policy ? "10.5.0.1" : "10.5.255.255"), me_policy);

            h->locals = locals_of({"10.0.1.1/24"});
            ASSERT_TRUE(h->loaded->set_locals(h->locals).ok());
            EXPECT_EQ(current_table(*h->loaded).overflow, 0u);
            EXPECT_EQ(verdict("198.51.100.9", me_policy ? "10.0.1.1" : "10.0.1.255"), !me_policy);
        }
    }
}

// A table map of another layout (a program loaded by another secpol
// version, found through its pins by the daemon) is refused before anything
// is written: no read into this build's buffers, the addresses as they were.
TEST(LocalTable, AMapOfAnotherLayoutIsRefusedAndNothingChanges) {
    require_root();
    auto h = Harness::load(kPolicy, locals_of({"10.0.1.1/24"}), false);
    ASSERT_TRUE(h);
    const uint32_t wrong = 2 * sizeof(secpol_local_tab) + 64;
    rt::UniqueFd table(bpf_map_create(BPF_MAP_TYPE_ARRAY, "other_locals", 4, wrong, 1, nullptr));
    rt::UniqueFd sel(bpf_map_create(BPF_MAP_TYPE_ARRAY, "other_sel", 4, 4, 1, nullptr));
    rt::UniqueFd bloom(bpf_map_create(BPF_MAP_TYPE_ARRAY, "other_bloom", 4, 8, 1, nullptr));
    ASSERT_TRUE(table && sel && bloom) << "bpf_map_create: " << std::strerror(errno);
    const int local4 = h->loaded->map_fd(SECPOL_MAP_LOCAL4);
    auto entries = [&] {
        uint32_t k = 0, next = 0, n = 0;
        for (const uint32_t* at = nullptr; bpf_map_get_next_key(local4, at, &next) == 0; at = &k, k = next)
            ++n;
        return n;
    };
    const uint32_t before = entries();

    const auto many = locals_of({"10.5.0.1/16", "10.6.0.1/16"});
    rt::LocalMapFds fds{local4, h->loaded->map_fd(SECPOL_MAP_LOCAL6), bloom.get()};
    auto r = rt::write_local_maps(fds, many);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("directed broadcast filter: the map's value is 8 bytes"),
              std::string::npos)
        << r.error().message;

    auto b = rt::write_local_table(table.get(), sel.get(), {}, {});
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.error().message.find("another secpol version"), std::string::npos) << b.error().message;
    EXPECT_EQ(entries(), before) << "nothing written to the address maps";
    // The program still sees its own addresses.
    auto out = h->run(SECPOL_DIR_IN, udp("198.51.100.9", "10.0.1.1"));
    EXPECT_FALSE(passed(SECPOL_DIR_IN, out.retval)) << "10.0.1.1 is still this host";
}

// A selector word without the table bit (what a writer older than the bit
// leaves: the copy's index alone) makes the program ask the hash maps,
// which always hold every address: correct answers even when the table the
// index names is empty.
TEST(LocalTable, ASelectorWithoutTheTableBitAsksTheHashMaps) {
    require_root();
    for (const char* text : {kPolicy, kBcastPolicy}) {
        auto h = Harness::load(text, locals_of({"10.0.1.1/24", "2001:db8:1::1/64"}), false);
        ASSERT_TRUE(h);
        const bool me_policy = text == kPolicy;
        const auto fds = table_fds(*h->loaded);
        const uint32_t zero = 0;
        auto empty = std::make_unique<secpol_local_tab[]>(2);
        std::memset(empty.get(), 0, 2 * sizeof(secpol_local_tab));
        ASSERT_EQ(bpf_map_update_elem(fds.table, &zero, empty.get(), BPF_ANY), 0);
        for (uint32_t old_word : {0u, 1u}) {
            ASSERT_EQ(bpf_map_update_elem(fds.sel, &zero, &old_word, BPF_ANY), 0);
            for (const auto& [src, dst] :
                 std::vector<std::pair<std::string, std::string>>{{"198.51.100.9", "10.0.1.1"},
                                                                  {"10.0.1.1", "198.51.100.9"},
                                                                  {"198.51.100.9", "10.0.1.255"},
                                                                  {"198.51.100.9", "10.0.1.7"},
                                                                  {"2001:db8:ffff::9", "2001:db8:1::1"},
                                                                  {"2001:db8:1::1", "2001:db8:ffff::9"}}) {
                auto b = udp(src, dst);
                auto ref = h->reference(SECPOL_DIR_IN, b);
                for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
                    auto r = h->run(dir, b);
                    EXPECT_EQ(passed(dir, r.retval), ref.verdict == SECPOL_V_PERMIT)
                        << (me_policy ? "me" : "bcast") << " selector " << old_word << " " << src << " > "
                        << dst;
                }
            }
        }
        // The loader's next write puts the table back in use.
        ASSERT_TRUE(h->loaded->set_locals(h->locals).ok());
        EXPECT_NE(selector(*h->loaded) & SECPOL_LOCALSEL_TABLE, 0u);
        EXPECT_EQ(current_table(*h->loaded).overflow, 0u);
    }
}

// Copies swapped while packets run: an address local in every set of
// addresses the loader cycles through (a small table, another one, one
// that overflows to the hash maps) is local for every packet, and one in
// none of them never is. A packet that saw half a table, a stale offset or
// a table bit that disagrees with the copy would break one of the two.
TEST(LocalTable, SwappingCopiesUnderTrafficStaysCorrect) {
    require_root();
    auto set_of = [](int which) {
        ref::LocalTable t = locals_of({"10.0.1.1/24", "2001:db8:1::1/64"});
        if (which == 1) {
            EXPECT_TRUE(t.add("10.5.0.1/16"));
        } else if (which == 2) {
            add_overflowing(t);
        }
        return t;
    };
    auto h = Harness::load(kPolicy, set_of(0), false);
    ASSERT_TRUE(h);
    const auto always4 = udp("198.51.100.9", "10.0.1.1"), never4 = udp("198.51.100.9", "203.0.113.5");
    const auto always6 = udp("2001:db8:ffff::9", "2001:db8:1::1"),
               never6 = udp("2001:db8:ffff::9", "fe80::1");
    // Local destinations are blocked (the policy blocks to `me`), the others passed.
    expect_verdicts_while_swapping(h, set_of, {&never4, &never6}, {&always4, &always6});
    EXPECT_EQ(current_table(*h->loaded).overflow, 1u) << "the last set (round 59) overflows";
}

// The directed broadcasts listed beside bcast_ones (local_table.h bcast[],
// bcast_all), which the fast IPv4 parser compares without a probe in a
// policy without `me`: up to SECPOL_LOCAL_BCASTS of them listed and
// complete; more, the first ones listed and the rest from the probe (or,
// overflowed, the generic parser and the hash maps). Each set in turn on
// one loaded program (the copies flip), every broadcast of every set sent,
// each verdict the reference's; with the broadcast exemption off (the
// shortcut's config folded away) none is exempt; with `me` the destination's
// probe answers. Ethernet frames take the fast parser, VLAN ones the
// generic parser.
TEST(LocalTable, DirectedBroadcastListAndProbeAgreeWithTheReference) {
    require_root();
    const std::vector<std::string> six = {"10.0.1.1/24", "10.0.2.1/24", "10.0.3.1/24",
                                          "10.0.4.1/24", "10.0.5.1/24", "10.0.6.1/16"};
    struct Set {
        const char* name;
        std::vector<std::string> addrs;
        bool overflow;
        uint32_t all;
    };
    std::vector<Set> sets = {
        {"three", {"10.0.1.1/24", "10.0.2.1/24", "192.0.2.7/24"}, false, 1},
        {"six", six, false, 0},
        {"one", {"10.0.3.1/24"}, false, 1},
        {"none", {"10.0.3.1/32"}, false, 1},
        {"six, overflowed", six, true, 0},
        {"three again", {"10.0.1.1/24", "10.0.2.1/24", "192.0.2.7/24"}, false, 1},
    };
    const std::vector<std::string> dsts = {"10.0.1.255", "10.0.2.255",   "10.0.3.255",  "10.0.4.255",
                                           "10.0.5.255", "10.0.255.255", "192.0.2.255", "10.0.1.254",
                                           "10.0.7.255", "10.0.3.1",     "0.0.0.0",     "255.255.255.255"};
    const char* kOff =
        "policy \"bcast off\"\nexemptions { multicast kerberos }\norder first-match\ndefault permit\n"
        "block proto udp from any to any port 7777 \"all\"\n";
    const char* kMe =
        "policy \"bcast me\"\nexemptions { broadcast }\norder first-match\ndefault permit\n"
        "block proto udp from any to me port 7777 \"to me\"\n"
        "block proto udp from any to any port 7777 \"all\"\n";
    for (const char* text : {kBcastPolicy, kOff, kMe}) {
        auto h = Harness::load(text, locals_of({"10.0.1.1/24"}), false);
        ASSERT_TRUE(h);
        unsigned exempt = 0;
        for (const auto& s : sets) {
            ref::LocalTable t;
            for (const auto& a : s.addrs) ASSERT_TRUE(t.add(a)) << a;
            if (s.overflow) add_overflowing(t);
            h->locals = t;
            ASSERT_TRUE(h->loaded->set_locals(h->locals).ok());
            const auto cur = current_table(*h->loaded);
            EXPECT_EQ(cur.overflow, s.overflow ? 1u : 0u) << s.name;
            EXPECT_EQ(cur.bcast_all, s.all) << s.name;
            for (const auto& d : dsts) {
                for (bool vlan : {false, true}) {
                    pkt::Bytes b = vlan ? (pkt::Ethernet{} / pkt::Vlan{.vid = 5} /
                                           pkt::IPv4{.src = "198.51.100.9", .dst = d} /
                                           pkt::UDP{.sport = 40000, .dport = 7777})
                                              .bytes()
                                        : udp("198.51.100.9", d);
                    for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
                        auto ref = h->reference(dir, b);
                        auto r = h->run(dir, b);
                        EXPECT_EQ(passed(dir, r.retval), ref.verdict == SECPOL_V_PERMIT)
                            << text << " " << s.name << " > " << d << (vlan ? " (VLAN)" : "");
                        if (dir == SECPOL_DIR_IN) exempt += ref.verdict == SECPOL_V_PERMIT;
                    }
                }
            }
        }
        // Not vacuous: with the exemption on, each set's broadcasts are
        // exempt (3 + 6 + 1 + 0 (a /32 has none) + 6 + 3 of them among
        // dsts, and the limited one in each of the 6 sets; both forms);
        // off, none.
        EXPECT_EQ(exempt, text == kOff ? 0u : 2u * (19 + 6)) << text;
    }
}

// The broadcast policy while the copies swap under traffic: a broadcast of
// every set always exempt, a neighbour of it never, through the list, the
// probe and the overflow in turn: never a packet the reference would block
// let through, nor the other way.
TEST(LocalTable, SwappingCopiesUnderTrafficKeepsTheDirectedBroadcast) {
    require_root();
    auto set_of = [](int which) {
        ref::LocalTable t = locals_of({"10.0.1.1/24"});
        if (which >= 1) {
            for (int i = 2; i <= 6; ++i) EXPECT_TRUE(t.add("10.0." + std::to_string(i) + ".1/24"));
        }
        if (which == 2) add_overflowing(t);
        return t;
    };
    auto h = Harness::load(kBcastPolicy, set_of(0), false);
    ASSERT_TRUE(h);
    const auto always = udp("198.51.100.9", "10.0.1.255"), never = udp("198.51.100.9", "10.0.1.254"),
               never2 = udp("198.51.100.9", "10.0.9.255");
    expect_verdicts_while_swapping(h, set_of, {&always}, {&never, &never2});
}
