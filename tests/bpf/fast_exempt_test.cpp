// The exemptions the XDP fast parsers decide before the record's stores
// (bpf/include/parsing.h secpol_fast_exempt, docs/design.md "The fixed path",
// sixth round). That path runs only with the trace map off, so every frame
// goes through the production program and is checked against the reference
// by its fate (the return code) and by the one counter slot it moved (plus
// the protected count): the exemption's id and the order among exemptions
// included. Each early decision just met and just missed, per profile, with
// and without `me`, IPv4 and IPv6, Ethernet and IP-only devices, both
// directions (tc decides them after its join, as before).
#include "bpf_util.h"
#include "counters.h"

using namespace secpol;
using namespace secpol::bpftest;
using pkt::Bytes;

namespace {

std::string policy(const std::string& profile, bool me) {
    return "policy \"fx\"\nexemptions " + profile + "\norder first-match\ndefault permit\n" +
           (me ? "permit proto tcp from any to me port 22 \"ssh to me\"\n" : "") +
           "block proto udp from any to any \"udp\"\n"
           "block proto tcp from any to any \"tcp\"\n"
           "block from any to any \"everything else\"\n";
}

// The counter slot the reference's decision moves (bpf/secpol.bpf.c).
size_t expected_slot(const ref::Decision& d, int dir) {
    switch (d.reason) {
        case SECPOL_R_EXEMPTION:
            return rt::special_slot(SECPOL_CNT_EXEMPT + d.exemption, dir);
        case SECPOL_R_FILTER:
        case SECPOL_R_IPSEC:
            return rt::rule_slot(d.rule, dir, d.rule_verdict);
        case SECPOL_R_DEFAULT:
            return rt::special_slot(SECPOL_CNT_DEFAULT, dir);
        case SECPOL_R_FRAGMENT:
            return rt::special_slot(SECPOL_CNT_FRAGMENT, dir);
        case SECPOL_R_NONIP:
            return rt::special_slot(SECPOL_CNT_NONIP, dir);
        default:
            return rt::special_slot(SECPOL_CNT_MALFORMED, dir);
    }
}

// One frame through the production program: its fate and the counter slots
// it moved must be the reference's. Returns the reference's decision.
ref::Decision expect_production_agrees(const Harness& h, int dir, const Bytes& b, const std::string& what) {
    const auto d = h.reference(dir, b);
    auto before = h.loaded->read_counters();
    EXPECT_TRUE(before) << before.error().message;
    auto r = h.run(dir, b);
    auto after = h.loaded->read_counters();
    EXPECT_TRUE(after) << after.error().message;
    if (!before || !after) return d;
    const char* dn = dir == SECPOL_DIR_IN ? "in" : "out";
    EXPECT_EQ(passed(dir, r.retval), d.verdict == SECPOL_V_PERMIT)
        << what << " (" << dn << "): retval " << r.retval;
    std::vector<size_t> want{expected_slot(d, dir)};
    if (d.reason != SECPOL_R_MALFORMED && d.reason != SECPOL_R_NONIP && d.key.w[SECPOL_F_IPSEC])
        want.push_back(rt::special_slot(SECPOL_CNT_IPSEC, dir));
    std::vector<size_t> moved;
    for (size_t s = 0; s < after->size(); ++s)
        if ((*after)[s].packets != (*before)[s].packets) {
            moved.push_back(s);
            EXPECT_EQ((*after)[s].packets - (*before)[s].packets, 1u)
                << what << " (" << dn << "): slot " << s;
        }
    std::sort(want.begin(), want.end());
    EXPECT_EQ(moved, want) << what << " (" << dn << "): reference " << ref::reason_name(d.reason) << " "
                           << (d.reason == SECPOL_R_EXEMPTION ? d.exemption : d.rule);
    return d;
}

struct Probe {
    const char* name;
    pkt::Packet ip;  // from the IP header on
};

// Each early decision just met and just missed, and the combinations whose
// order matters (a multicast or broadcast destination with an exempt port,
// a directed broadcast with one), plus the frames the fast parsers leave to
// the generic parser (options, fragments, ESP-in-UDP, ESP to a group,
// IPv4-mapped addresses).
std::vector<Probe> probes() {
    using namespace pkt;
    const IPv4 v4{.src = "10.9.0.1", .dst = "10.9.0.2"};
    const IPv6 v6{.src = "2001:db8:9::1", .dst = "2001:db8:9::2"};
    return {
        {"ike", v4 / UDP{.sport = 500, .dport = 500}},
        {"ike, source 501", v4 / UDP{.sport = 501, .dport = 500}},
        {"ike, destination 499", v4 / UDP{.sport = 500, .dport = 499}},
        {"ike over tcp", v4 / TCP{.sport = 500, .dport = 500}},
        {"ike v6", v6 / UDP{.sport = 500, .dport = 500}},
        {"ike v6, destination 501", v6 / UDP{.sport = 500, .dport = 501}},
        {"ike, first fragment (MF)",
         IPv4{.src = "10.9.0.1", .dst = "10.9.0.2", .mf = true} / UDP{.sport = 500, .dport = 500}},
        {"ike, IPv4 options (generic parser)",
         IPv4{.src = "10.9.0.1", .dst = "10.9.0.2", .options = Bytes{1, 1, 1, 1}} /
             UDP{.sport = 500, .dport = 500}},
        {"ike-nat-t (generic parser)", v4 / UDP{.sport = 4500, .dport = 4500} / ESP{.spi = 0}},
        {"ike-nat-t esp (generic parser)", v4 / UDP{.sport = 4500, .dport = 4500} / ESP{.spi = 7}},
        {"kerberos tcp destination", v4 / TCP{.sport = 40000, .dport = 88}},
        {"kerberos tcp source", v4 / TCP{.sport = 88, .dport = 40000}},
        {"kerberos tcp 87 / 89", v4 / TCP{.sport = 87, .dport = 89}},
        {"kerberos udp", v4 / UDP{.sport = 40000, .dport = 88}},
        {"kerberos udp 4501 / 89", v4 / UDP{.sport = 4501, .dport = 89}},
        {"kerberos v6 tcp", v6 / TCP{.sport = 40000, .dport = 88}},
        {"kerberos v6 tcp 89", v6 / TCP{.sport = 40000, .dport = 89}},
        {"rsvp", IPv4{.src = "10.9.0.1", .dst = "10.9.0.2", .proto = 46} / Raw::zeros(20)},
        {"proto 45", IPv4{.src = "10.9.0.1", .dst = "10.9.0.2", .proto = 45} / Raw::zeros(20)},
        {"proto 47", IPv4{.src = "10.9.0.1", .dst = "10.9.0.2", .proto = 47} / Raw::zeros(20)},
        {"rsvp v6", IPv6{.src = "2001:db8:9::1", .dst = "2001:db8:9::2", .next_header = 46} / Raw::zeros(20)},
        {"rsvp, non-first fragment (generic parser)",
         IPv4{.src = "10.9.0.1", .dst = "10.9.0.2", .proto = 46, .frag_offset = 3} / Raw::zeros(8)},
        {"dhcp", v4 / UDP{.sport = 68, .dport = 67}},
        {"dhcp 68 / 69", v4 / UDP{.sport = 68, .dport = 69}},
        {"dhcpv6", v6 / UDP{.sport = 546, .dport = 547}},
        {"nd 135", v6 / ICMPv6{.type = 135}},
        {"nd 138", v6 / ICMPv6{.type = 138}},
        {"multicast", IPv4{.src = "10.9.0.1", .dst = "224.0.0.251"} / UDP{.sport = 5353, .dport = 5353}},
        {"multicast ike", IPv4{.src = "10.9.0.1", .dst = "224.0.0.251"} / UDP{.sport = 500, .dport = 500}},
        {"multicast kerberos tcp",
         IPv4{.src = "10.9.0.1", .dst = "239.255.255.255"} / TCP{.sport = 40000, .dport = 88}},
        {"multicast rsvp", IPv4{.src = "10.9.0.1", .dst = "224.0.0.5", .proto = 46} / Raw::zeros(20)},
        {"240.0.0.1 (not multicast) ike",
         IPv4{.src = "10.9.0.1", .dst = "240.0.0.1"} / UDP{.sport = 500, .dport = 500}},
        {"223.255.255.255 (not multicast)",
         IPv4{.src = "10.9.0.1", .dst = "223.255.255.255"} / UDP{.sport = 5353, .dport = 5353}},
        {"multicast esp (generic parser)", IPv4{.src = "10.9.0.1", .dst = "224.0.0.251"} / ESP{.spi = 9}},
        {"esp", v4 / ESP{.spi = 9}},
        {"multicast v6 ike",
         IPv6{.src = "2001:db8:9::1", .dst = "ff02::fb"} / UDP{.sport = 500, .dport = 500}},
        {"fe80:: (not multicast) ike",
         IPv6{.src = "2001:db8:9::1", .dst = "fe80::1"} / UDP{.sport = 500, .dport = 500}},
        {"multicast v6 esp (generic parser)",
         IPv6{.src = "2001:db8:9::1", .dst = "ff02::fb"} / ESP{.spi = 9}},
        {"limited broadcast",
         IPv4{.src = "10.9.0.1", .dst = "255.255.255.255"} / UDP{.sport = 40000, .dport = 9}},
        {"limited broadcast dhcp",
         IPv4{.src = "0.0.0.0", .dst = "255.255.255.255"} / UDP{.sport = 68, .dport = 67}},
        {"limited broadcast ike",
         IPv4{.src = "10.9.0.1", .dst = "255.255.255.255"} / UDP{.sport = 500, .dport = 500}},
        {"255.255.255.254 ike",
         IPv4{.src = "10.9.0.1", .dst = "255.255.255.254"} / UDP{.sport = 500, .dport = 500}},
        {"directed broadcast ike",
         IPv4{.src = "10.9.0.1", .dst = "10.0.0.255"} / UDP{.sport = 500, .dport = 500}},
        {"directed broadcast",
         IPv4{.src = "10.9.0.1", .dst = "10.0.0.255"} / UDP{.sport = 40000, .dport = 9}},
        {"ike from a local address",
         IPv4{.src = "10.0.0.1", .dst = "10.9.0.2"} / UDP{.sport = 500, .dport = 500}},
        {"ike v6, IPv4-mapped source (malformed)",
         IPv6{.src = "::ffff:10.9.0.1", .dst = "2001:db8:9::2"} / UDP{.sport = 500, .dport = 500}},
        {"kerberos v6, IPv4-mapped destination (malformed)",
         IPv6{.src = "2001:db8:9::1", .dst = "::ffff:10.9.0.2"} / TCP{.sport = 40000, .dport = 88}},
    };
}

Bytes ethernet(const pkt::Packet& ip) {
    return (pkt::Ethernet{} / ip).bytes();
}

Bytes vlan(const pkt::Packet& ip) {
    return (pkt::Ethernet{} / pkt::Vlan{.vid = 5} / ip).bytes();
}

class FastExempt : public ::testing::TestWithParam<const char*> {};

}  // namespace

TEST_P(FastExempt, EveryEarlyDecisionMetAndMissedAgreesWithTheReference) {
    require_root();
    const auto locals = locals_of({"10.0.0.1/24", "2001:db8::2/64"});
    for (bool me : {false, true}) {
        auto h = Harness::load(policy(GetParam(), me), locals, /*trace=*/false);
        ASSERT_TRUE(h);
        ASSERT_FALSE(h->image.config().flags & SECPOL_CFG_TRACE);
        auto l3 = Harness::load(policy(GetParam(), me), locals, /*trace=*/false, ref::Link::L3);
        ASSERT_TRUE(l3);
        unsigned exempt = 0;
        for (const auto& p : probes()) {
            const std::string what = std::string(GetParam()) + (me ? ", me: " : ": ") + p.name;
            for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
                auto d = expect_production_agrees(*h, dir, ethernet(p.ip), what);
                exempt += d.reason == SECPOL_R_EXEMPTION;
                expect_production_agrees(*h, dir, vlan(p.ip), what + " (VLAN: generic parser)");
                expect_production_agrees(*l3, dir, p.ip.bytes(), what + " (IP-only device)");
            }
        }
        // The profile's bits decide how many probes are exempt: none for
        // "none", some for every other profile here.
        if (h->policy.exemptions == 0)
            EXPECT_EQ(exempt, 0u) << GetParam();
        else
            EXPECT_GT(exempt, 0u) << GetParam();
    }
}

// The order among exemptions, spelled out (docs/semantics.md 2.3): with both
// on, a multicast or limited-broadcast destination wins over the port, and
// the port wins over the directed broadcast; with the first off, the next
// one applies.
TEST(FastExemptOrder, GroupAndBroadcastBeforePortsPortsBeforeDirectedBroadcast) {
    require_root();
    const auto locals = locals_of({"10.0.0.1/24"});
    struct Case {
        const char* profile;
        pkt::Packet ip;
        int want;  // exemption id, -1: none
    };
    using namespace pkt;
    const std::vector<Case> cases = {
        {"{ multicast ike }", IPv4{.dst = "224.0.0.251"} / UDP{.sport = 500, .dport = 500},
         SECPOL_EX_MULTICAST},
        {"{ ike }", IPv4{.dst = "224.0.0.251"} / UDP{.sport = 500, .dport = 500}, SECPOL_EX_IKE},
        {"{ multicast }", IPv4{.dst = "224.0.0.251"} / UDP{.sport = 500, .dport = 500}, SECPOL_EX_MULTICAST},
        {"{ broadcast ike }", IPv4{.dst = "255.255.255.255"} / UDP{.sport = 500, .dport = 500},
         SECPOL_EX_BROADCAST},
        {"{ ike }", IPv4{.dst = "255.255.255.255"} / UDP{.sport = 500, .dport = 500}, SECPOL_EX_IKE},
        {"{ broadcast ike }", IPv4{.dst = "10.0.0.255"} / UDP{.sport = 500, .dport = 500}, SECPOL_EX_IKE},
        {"{ broadcast }", IPv4{.dst = "10.0.0.255"} / UDP{.sport = 500, .dport = 500}, SECPOL_EX_BROADCAST},
        {"{ broadcast kerberos }", IPv4{.dst = "10.0.0.255"} / TCP{.sport = 88, .dport = 40000},
         SECPOL_EX_KERBEROS},
        {"{ multicast rsvp }", IPv4{.dst = "224.0.0.5", .proto = 46} / Raw::zeros(20), SECPOL_EX_MULTICAST},
        {"{ rsvp }", IPv4{.dst = "224.0.0.5", .proto = 46} / Raw::zeros(20), SECPOL_EX_RSVP},
        {"{ multicast kerberos }", IPv6{.dst = "ff02::1"} / TCP{.sport = 40000, .dport = 88},
         SECPOL_EX_MULTICAST},
        {"{ kerberos }", IPv6{.dst = "ff02::1"} / TCP{.sport = 40000, .dport = 88}, SECPOL_EX_KERBEROS},
        {"{ kerberos }", IPv6{.dst = "ff02::1"} / TCP{.sport = 40000, .dport = 89}, -1},
        {"none", IPv4{} / UDP{.sport = 500, .dport = 500}, -1},
    };
    for (const auto& c : cases) {
        for (bool me : {false, true}) {
            auto h = Harness::load(policy(c.profile, me), locals, /*trace=*/false);
            ASSERT_TRUE(h);
            const std::string what = std::string(c.profile) + (me ? ", me" : "");
            auto d = expect_production_agrees(*h, SECPOL_DIR_IN, ethernet(c.ip), what);
            if (c.want >= 0) {
                EXPECT_EQ(d.reason, uint32_t(SECPOL_R_EXEMPTION)) << what;
                EXPECT_EQ(int(d.exemption), c.want) << what;
            } else {
                EXPECT_NE(d.reason, uint32_t(SECPOL_R_EXEMPTION)) << what;
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Profiles, FastExempt,
                         ::testing::Values("windows2000", "none", "nodefaultexempt 3", "{ kerberos }",
                                           "{ multicast ike }", "{ broadcast rsvp }",
                                           "{ broadcast multicast rsvp ike ike-nat-t kerberos nd dhcp }"));
