// The `secpol log` formatter (runtime/log_events.h): header summaries of
// frames cut at the snapshot, rule labels and file:line from a meta rule
// table, the JSON and text of one event.
#include "log_events.h"

#include <gtest/gtest.h>

#include <cstring>

#include "packet/builder.h"
#include "secpol_abi.h"

using namespace secpol;

namespace {

secpol_log_event event_of(const pkt::Bytes& b, uint32_t rule, uint32_t dir = SECPOL_DIR_IN) {
    secpol_log_event e{};
    e.ts_lo = 5000;
    e.dir = dir;
    e.verdict = SECPOL_V_BLOCK;
    e.reason = rule == SECPOL_NO_RULE ? SECPOL_R_DEFAULT : SECPOL_R_FILTER;
    e.rule = rule;
    e.pkt_len = static_cast<uint32_t>(b.size());
    e.cap_len = std::min<uint32_t>(e.pkt_len, SECPOL_LOG_SNAPLEN);
    e.tag = 77;
    std::memcpy(e.data, b.data(), e.cap_len);
    return e;
}

rt::LogPolicy policy() {
    rt::LogPolicy p;
    p.tag = 77;
    p.file = "/etc/secpol/interfaces.d/eth0.pol";
    const nlohmann::json meta = {{"policy", {{"default", "block"}, {"default_line", 4}}},
                                 {"rules",
                                  {{{"id", 0},
                                    {"label", "no SMB"},
                                    {"line", 7},
                                    {"text", "block proto tcp from any to me port 445 log"}}}}};
    auto t = rt::parse_rule_table(meta.dump(), rt::RuleFields::Lenient);
    EXPECT_TRUE(t);
    if (t) p.table = std::move(*t);
    return p;
}

}  // namespace

TEST(LogEvents, SummaryOfATcpSynCutAtTheSnapshot) {
    auto b =
        (pkt::Ethernet{} / pkt::Vlan{.vid = 10} / pkt::IPv4{.src = "10.0.0.1", .dst = "10.0.0.2", .ttl = 63} /
         pkt::TCP{.sport = 40000, .dport = 445} / pkt::Raw{pkt::Bytes(500, 0)})
            .bytes();
    auto s = rt::summarize_packet(b.data(), SECPOL_LOG_SNAPLEN, false);
    EXPECT_EQ(s.text(), "vlan 10, 10.0.0.1.40000 > 10.0.0.2.445: tcp [S] ttl 63");
    EXPECT_EQ(s.eth_src, "02:00:00:00:00:01");
    EXPECT_FALSE(s.truncated);
    auto j = s.json();
    EXPECT_EQ(j["ip"]["proto_name"], "tcp");
    EXPECT_EQ(j["l4"]["dport"], 445);
    EXPECT_EQ(j["vlan"][0], 10);
}

TEST(LogEvents, SummaryOfIpv6UdpIcmpFragmentsAndShortFrames) {
    auto u6 = (pkt::Ethernet{} / pkt::IPv6{.src = "2001:db8::1", .dst = "2001:db8::2"} / pkt::HopByHop{} /
               pkt::UDP{.sport = 5353, .dport = 53})
                  .bytes();
    EXPECT_EQ(rt::summarize_packet(u6.data(), u6.size(), false).text(),
              "2001:db8::1.5353 > 2001:db8::2.53: udp hlim 64");
    auto ping = (pkt::IPv4{.src = "10.0.0.1", .dst = "10.0.0.2"} / pkt::ICMP{.type = 8}).bytes();
    EXPECT_EQ(rt::summarize_packet(ping.data(), ping.size(), true).text(),
              "10.0.0.1 > 10.0.0.2: icmp type 8 code 0 ttl 64");
    auto frag =
        (pkt::Ethernet{} / pkt::IPv4{.proto = 6, .frag_offset = 10} / pkt::Raw{pkt::Bytes(8, 0)}).bytes();
    EXPECT_EQ(rt::summarize_packet(frag.data(), frag.size(), false).text(),
              "10.0.0.1 > 10.0.0.2: tcp (fragment) ttl 64");
    auto cut = rt::summarize_packet(ping.data(), 10, true);
    EXPECT_TRUE(cut.truncated);
    EXPECT_EQ(cut.text(), "not IP [truncated]");
    auto arp = (pkt::Ethernet{.type = 0x0806} / pkt::Raw{pkt::Bytes(28, 0)}).bytes();
    EXPECT_EQ(rt::summarize_packet(arp.data(), arp.size(), false).text(),
              "02:00:00:00:00:01 > 02:00:00:00:00:02 ethertype 0x0806");
}

TEST(LogEvents, RuleLabelAndFileLineFromTheRuleTable) {
    auto b = (pkt::Ethernet{} / pkt::IPv4{} / pkt::TCP{.sport = 1, .dport = 445}).bytes();
    const auto pol = policy();
    auto r = rt::event_rule(event_of(b, 0), &pol);
    EXPECT_TRUE(r.known);
    EXPECT_EQ(r.label, "no SMB");
    EXPECT_EQ(r.line, 7u);
    auto d = rt::event_rule(event_of(b, SECPOL_NO_RULE), &pol);
    EXPECT_TRUE(d.is_default);
    EXPECT_EQ(d.label, "default");
    EXPECT_EQ(d.line, 4u);
    auto gone = rt::event_rule(event_of(b, 0), nullptr);
    EXPECT_FALSE(gone.known);
    EXPECT_EQ(gone.label, "rule 0");
}

TEST(LogEvents, TextAndJsonOfOneEvent) {
    auto b = (pkt::Ethernet{} / pkt::IPv4{.src = "10.0.0.1", .dst = "10.0.0.2"} /
              pkt::TCP{.sport = 1, .dport = 445})
                 .bytes();
    auto e = event_of(b, 0, SECPOL_DIR_OUT);
    e.suppressed = 12;
    const auto pol = policy();
    const auto r = rt::event_rule(e, &pol);
    const int64_t t = 1764460741123456789;  // 2025-11-29T23:59:01.123456Z
    EXPECT_EQ(
        rt::event_text(e, "eth0", r, t),
        "2025-11-29T23:59:01.123456Z eth0 out block filter \"no SMB\" (/etc/secpol/interfaces.d/eth0.pol:7): "
        "10.0.0.1.1 > 10.0.0.2.445: tcp [S] ttl 64, length 54 (+12 suppressed by the rate limit)");
    auto j = rt::event_json(e, "eth0", r, t);
    EXPECT_EQ(j["interface"], "eth0");
    EXPECT_EQ(j["dir"], "out");
    EXPECT_EQ(j["verdict"], "block");
    EXPECT_EQ(j["reason"], "filter");
    EXPECT_EQ(j["rule"], 0);
    EXPECT_EQ(j["label"], "no SMB");
    EXPECT_EQ(j["file"], "/etc/secpol/interfaces.d/eth0.pol");
    EXPECT_EQ(j["line"], 7);
    EXPECT_EQ(j["len"], 54);
    EXPECT_EQ(j["caplen"], 54);
    EXPECT_EQ(j["suppressed"], 12);
    EXPECT_EQ(j["prog_id"], 77);
    EXPECT_EQ(j["headers"]["ip"]["dst"], "10.0.0.2");
    EXPECT_EQ(j["data"].get<std::string>().size(), 2 * b.size());
    EXPECT_EQ(j["data"].get<std::string>().substr(0, 12), "020000000002");
    auto dj = rt::event_json(event_of(b, SECPOL_NO_RULE), "eth0",
                             rt::event_rule(event_of(b, SECPOL_NO_RULE), &pol), t);
    EXPECT_TRUE(dj["rule"].is_null());
    EXPECT_EQ(dj["reason"], "default");
    EXPECT_EQ(dj["label"], "default");
}

TEST(LogEvents, TimesAreWallClockFromTheMonotonicStamp) {
    secpol_log_event e{};
    e.ts_hi = 1;
    e.ts_lo = 0;
    EXPECT_EQ(rt::event_time_ns(e, 1000), (int64_t{1} << 32) + 1000);
    EXPECT_EQ(rt::format_time_ns(0), "1970-01-01T00:00:00.000000Z");
}
