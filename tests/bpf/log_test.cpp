// The `log` clause in the real programs (BPF_PROG_TEST_RUN): events in the
// ring buffer with the rule, verdict, reason and the packet's first bytes;
// nothing for rules without `log`; the per-rule token bucket under a flood;
// the default's log; verdicts equal to the same policy without `log`; the
// ring reused by a swap; and no log code at all in a policy without `log`.
#include <bpf/bpf.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "bpf_util.h"
#include "common/harness.h"
#include "log_ring.h"
#include "packet/builder.h"

using namespace secpol;

namespace {

constexpr uint32_t kXdpDrop = 1, kXdpPass = 2;

struct Rig {
    backend::Compiled compiled;
    std::unique_ptr<rt::LoadedPolicy> lp;
    std::vector<secpol_log_event> events;
    std::unique_ptr<rt::LogRing> ring;

    static std::unique_ptr<Rig> make(const std::string& text, int reuse_ring = -1) {
        auto r = std::make_unique<Rig>();
        r->compiled = test::compile_or_die(text, "log.pol");
        rt::LoadOptions lo;  // no trace: the production path
        lo.reuse_log_ring = reuse_ring;
        auto l = rt::LoadedPolicy::load(r->compiled.image, net::LocalTable{}, lo);
        if (!l) {
            ADD_FAILURE() << "load: " << l.error().message;
            return nullptr;
        }
        r->lp = std::move(*l);
        if (r->lp->map_fd(SECPOL_MAP_LOG_RING) < 0) return r;  // a policy without log has no ring
        auto ring = rt::LogRing::open(r->lp->map_fd(SECPOL_MAP_LOG_RING),
                                      [p = r.get()](const secpol_log_event& e) { p->events.push_back(e); });
        if (!ring) {
            ADD_FAILURE() << "ring: " << ring.error().message;
            return nullptr;
        }
        r->ring = std::move(*ring);
        return r;
    }

    uint32_t run(int dir, const pkt::Bytes& b, uint32_t repeat = 1) {
        auto res = lp->test_run(dir, b.data(), b.size(), repeat);
        EXPECT_TRUE(res.ok()) << (res.ok() ? "" : res.error().message);
        if (ring) {
            EXPECT_TRUE(ring->drain().ok());
        }
        return res.ok() ? res->retval : ~0u;
    }

    ref::Decision reference(int dir, const pkt::Bytes& b) const {
        return ref::classify(compiled.policy, b.data(), b.size(), dir, net::LocalTable{});
    }

    uint32_t prog_id() const {
        bpf_prog_info info{};
        uint32_t n = sizeof info;
        EXPECT_EQ(bpf_obj_get_info_by_fd(lp->ingress_fd(), &info, &n), 0);
        return info.id;
    }
};

pkt::Bytes tcp_to(uint16_t dport, size_t payload = 0) {
    return (pkt::Ethernet{} / pkt::IPv4{.src = "192.0.2.1", .dst = "192.0.2.2"} /
            pkt::TCP{.sport = 40000, .dport = dport} / pkt::Raw{pkt::Bytes(payload, 0xab)})
        .bytes();
}

pkt::Bytes udp_to(uint16_t dport) {
    return (pkt::Ethernet{} / pkt::IPv4{.src = "192.0.2.1", .dst = "192.0.2.2"} /
            pkt::UDP{.sport = 40000, .dport = dport})
        .bytes();
}

const char* kPolicy =
    "policy \"log test\"\n"
    "exemptions none\n"
    "order first-match\n"
    "default permit\n"
    "block proto tcp from any to any port 445 log \"no SMB\"\n"
    "block proto udp from any to any port 53 \"no DNS\"\n"
    "permit proto tcp from any to any port 80 log rate 100/s \"web\"\n";

}  // namespace

TEST(Log, BlockedPacketOfALogFilterIsAnEventWithItsHeaders) {
    bpftest::require_root();
    auto r = Rig::make(kPolicy);
    ASSERT_TRUE(r);
    for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
        SCOPED_TRACE(dir == SECPOL_DIR_IN ? "XDP" : "tc");
        r->events.clear();
        const auto big = tcp_to(445, 400);  // longer than the snapshot
        const auto small = tcp_to(445);
        const auto d = r->reference(dir, big);
        ASSERT_EQ(d.reason, SECPOL_R_FILTER);
        EXPECT_TRUE(d.log);
        const uint32_t rv = r->run(dir, big);
        EXPECT_EQ(rv, dir == SECPOL_DIR_IN ? kXdpDrop : 2u /* TC_ACT_SHOT */);
        r->run(dir, small);
        ASSERT_EQ(r->events.size(), 2u);
        const auto& e = r->events[0];
        EXPECT_EQ(e.rule, 0u);
        EXPECT_EQ(e.verdict, uint32_t{SECPOL_V_BLOCK});
        EXPECT_EQ(e.reason, uint32_t{SECPOL_R_FILTER});
        EXPECT_EQ(e.dir, uint32_t(dir));
        EXPECT_EQ(e.pkt_len, big.size());
        EXPECT_EQ(e.cap_len, SECPOL_LOG_SNAPLEN);
        EXPECT_EQ(e.link, 0u);
        EXPECT_EQ(e.tag, r->prog_id());
        EXPECT_EQ(std::vector<uint8_t>(e.data, e.data + e.cap_len),
                  std::vector<uint8_t>(big.begin(), big.begin() + SECPOL_LOG_SNAPLEN));
        const auto& s = r->events[1];
        EXPECT_EQ(s.pkt_len, small.size());
        EXPECT_EQ(s.cap_len, small.size());
        EXPECT_EQ(std::vector<uint8_t>(s.data, s.data + s.cap_len), small);
        EXPECT_NE(s.ts_lo | s.ts_hi, 0u);
        std::printf("  %s: event rule %u verdict %u len %u caplen %u\n", dir == SECPOL_DIR_IN ? "xdp" : "tc",
                    e.rule, e.verdict, e.pkt_len, e.cap_len);
    }
}

TEST(Log, RulesWithoutLogAndOtherDecisionsProduceNoEvent) {
    bpftest::require_root();
    auto r = Rig::make(kPolicy);
    ASSERT_TRUE(r);
    const pkt::Bytes malformed = tcp_to(445);
    const std::vector<std::pair<const char*, pkt::Bytes>> quiet = {
        {"udp 53 (block, no log)", udp_to(53)},
        {"udp 99 (default, no log)", udp_to(99)},
        {"arp (non-ip)", (pkt::Ethernet{.type = 0x0806} / pkt::Raw{pkt::Bytes(28, 0)}).bytes()},
        {"truncated (malformed)", pkt::Bytes(malformed.begin(), malformed.begin() + 30)},
    };
    for (const auto& [name, b] : quiet) {
        SCOPED_TRACE(name);
        EXPECT_FALSE(r->reference(SECPOL_DIR_IN, b).log);
        r->run(SECPOL_DIR_IN, b, 10);
        if (b.size() >= 34) r->run(SECPOL_DIR_OUT, b, 10);
        EXPECT_TRUE(r->events.empty()) << r->events.size() << " events";
    }
    // A permit filter with `log` logs too: the verdict is its own.
    EXPECT_EQ(r->run(SECPOL_DIR_IN, tcp_to(80)), kXdpPass);
    ASSERT_EQ(r->events.size(), 1u);
    EXPECT_EQ(r->events[0].rule, 2u);
    EXPECT_EQ(r->events[0].verdict, uint32_t{SECPOL_V_PERMIT});
}

TEST(Log, RateLimitHoldsUnderAFloodInOneRun) {
    bpftest::require_root();
    // 1/min: no token comes back while the test runs, so the burst is all.
    auto r = Rig::make(
        "exemptions none\ndefault permit\nblock proto tcp from any to any port 445 log rate 1/min burst 5 "
        "\"x\"\n");
    ASSERT_TRUE(r);
    const auto b = tcp_to(445);
    constexpr uint32_t kFlood = 10000;
    for (int round = 0; round < 3; ++round) {
        r->run(SECPOL_DIR_IN, b, kFlood);
        std::printf("  flood of %u packets (round %d): %zu events in total\n", kFlood, round + 1,
                    r->events.size());
    }
    EXPECT_EQ(r->events.size(), 5u) << "burst 5: 5 events, then none for a minute";
    // tc shares the rule's bucket.
    r->run(SECPOL_DIR_OUT, b, kFlood);
    EXPECT_EQ(r->events.size(), 5u);
    // The drops were counted (the events carry what was held back).
    bpf_map_info info{};
    uint32_t n = sizeof info;
    ASSERT_EQ(bpf_obj_get_info_by_fd(r->lp->map_fd(SECPOL_MAP_LOG_RATE), &info, &n), 0);
    secpol_log_bucket bk{};
    const uint32_t zero = 0;
    ASSERT_EQ(bpf_map_lookup_elem(r->lp->map_fd(SECPOL_MAP_LOG_RATE), &zero, &bk), 0);
    EXPECT_EQ(bk.suppressed, 4 * kFlood - 5);
    EXPECT_EQ(bk.lost, 0u);
}

TEST(Log, EventsWithoutRoomInTheRingAreCountedLost) {
    bpftest::require_root();
    auto r = Rig::make(
        "exemptions none\ndefault permit\nblock proto tcp from any to any port 445 log rate 1000000/s burst "
        "1000000 \"x\"\n");
    ASSERT_TRUE(r);
    auto before = rt::lost_events(r->lp->map_fd(SECPOL_MAP_LOG_RATE));
    ASSERT_TRUE(before.ok()) << before.error().message;
    EXPECT_EQ(before->lost, 0u);
    // Nobody reads while the flood runs: the ring fills, the rest is lost.
    constexpr uint32_t kFlood = 5000;
    auto res = r->lp->test_run(SECPOL_DIR_IN, tcp_to(445).data(), tcp_to(445).size(), kFlood);
    ASSERT_TRUE(res.ok()) << res.error().message;
    ASSERT_TRUE(r->ring->drain().ok());
    auto after = rt::lost_events(r->lp->map_fd(SECPOL_MAP_LOG_RATE));
    ASSERT_TRUE(after.ok()) << after.error().message;
    std::printf("  flood of %u unread: %zu events in the ring, %llu lost\n", kFlood, r->events.size(),
                static_cast<unsigned long long>(after->lost));
    EXPECT_GT(after->lost, 0u);
    EXPECT_LT(r->events.size(), kFlood);
    EXPECT_EQ(r->events.size() + after->lost, kFlood) << "every logged packet is an event or counted lost";
    EXPECT_EQ(after->map_id, before->map_id);
}

TEST(Log, TokensComeBackAtTheRateAndEventsCountWhatWasHeldBack) {
    bpftest::require_root();
    auto r = Rig::make("exemptions none\ndefault permit\nblock from any to any log rate 20/s burst 2\n");
    ASSERT_TRUE(r);
    const auto b = tcp_to(445);
    r->run(SECPOL_DIR_IN, b, 1000);
    const size_t first = r->events.size();
    EXPECT_GE(first, 2u);
    EXPECT_LE(first, 3u);  // burst, and one token if the run took 50 ms
    std::this_thread::sleep_for(std::chrono::milliseconds(120));  // >= 2 tokens at 20/s
    r->run(SECPOL_DIR_IN, b);
    ASSERT_EQ(r->events.size(), first + 1);
    EXPECT_EQ(r->events.back().suppressed, 1000 - first) << "the flood's held-back packets";
    std::printf("  20/s burst 2: flood of 1000 gave %zu events; next event reports %u suppressed\n", first,
                r->events.back().suppressed);
}

TEST(Log, DefaultLogCoversDefaultAndFragments) {
    bpftest::require_root();
    auto r = Rig::make(
        "exemptions none\ndefault block log rate 1000/s\npermit proto udp from any to any port 53\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->run(SECPOL_DIR_IN, tcp_to(22)), kXdpDrop);
    EXPECT_EQ(r->run(SECPOL_DIR_IN, udp_to(53)), kXdpPass);  // the filter decides: no log
    const auto frag = (pkt::Ethernet{} /
                       pkt::IPv4{.src = "192.0.2.1", .dst = "192.0.2.2", .proto = 17, .frag_offset = 100} /
                       pkt::Raw{pkt::Bytes(16, 1)})
                          .bytes();
    EXPECT_TRUE(r->reference(SECPOL_DIR_IN, frag).log);
    r->run(SECPOL_DIR_IN, frag);
    ASSERT_EQ(r->events.size(), 2u);
    EXPECT_EQ(r->events[0].rule, SECPOL_NO_RULE);
    EXPECT_EQ(r->events[0].reason, uint32_t{SECPOL_R_DEFAULT});
    EXPECT_EQ(r->events[0].verdict, uint32_t{SECPOL_V_BLOCK});
    EXPECT_EQ(r->events[1].reason, uint32_t{SECPOL_R_FRAGMENT});
}

TEST(Log, LogNeverChangesAVerdict) {
    bpftest::require_root();
    const std::string body =
        "block proto tcp from any to any port 445%s\n"
        "secure proto tcp from any to any port 22%s\n"
        "permit proto udp from any to any%s\n";
    auto with = [&](const char* log) {
        char buf[512];
        std::snprintf(buf, sizeof buf, body.c_str(), log, log, log);
        return std::string("exemptions windows2000\norder first-match\ndefault block") + log + "\n" + buf;
    };
    auto a = Rig::make(with(""));
    auto b = Rig::make(with(" log rate 1000000/s burst 1000000"));
    ASSERT_TRUE(a && b);
    const std::vector<pkt::Bytes> pkts = {
        tcp_to(445), tcp_to(22),
        udp_to(53),  udp_to(500),
        tcp_to(80),  (pkt::Ethernet{} / pkt::IPv4{.proto = 50} / pkt::Raw{pkt::Bytes(16, 1)}).bytes()};
    size_t logged = 0;
    for (const auto& p : pkts)
        for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
            EXPECT_EQ(a->run(dir, p), b->run(dir, p));
            const auto da = a->reference(dir, p), db = b->reference(dir, p);
            EXPECT_EQ(da.verdict, db.verdict);
            EXPECT_EQ(da.reason, db.reason);
            EXPECT_FALSE(da.log);
            logged += db.log;
        }
    EXPECT_TRUE(a->events.empty());
    EXPECT_EQ(b->events.size(), logged) << "one event per decision the reference says logs";
    EXPECT_GT(logged, 0u);
}

TEST(Log, ASwapReusesTheRingSoAReaderKeepsReading) {
    bpftest::require_root();
    auto old_pol = Rig::make("exemptions none\nblock proto tcp from any to any port 445 log\n");
    ASSERT_TRUE(old_pol);
    auto fresh = Rig::make("exemptions none\nblock proto tcp from any to any port 446 log\n",
                           old_pol->lp->map_fd(SECPOL_MAP_LOG_RING));
    ASSERT_TRUE(fresh);
    EXPECT_EQ(fresh->ring->map_id(), old_pol->ring->map_id());
    fresh->lp->test_run(SECPOL_DIR_IN, tcp_to(446).data(), tcp_to(446).size());
    ASSERT_TRUE(old_pol->ring->drain().ok());
    ASSERT_EQ(old_pol->events.size(), 1u) << "the old reader sees the new policy's event";
    EXPECT_EQ(old_pol->events[0].tag, fresh->prog_id());
    EXPECT_NE(old_pol->events[0].tag, old_pol->prog_id());
    EXPECT_EQ(fresh->ring->size(), SECPOL_LOG_RING_BYTES);
    // A policy without log has no ring (nor any log map) at all.
    auto quiet = Rig::make("exemptions none\nblock from any to any\n");
    ASSERT_TRUE(quiet);
    EXPECT_LT(quiet->lp->map_fd(SECPOL_MAP_LOG_RING), 0);
    EXPECT_LT(quiet->lp->map_fd(SECPOL_MAP_LOG_RATE), 0);
    EXPECT_FALSE(quiet->ring);
}

TEST(Log, ThePolicyWithoutLogHasNoLogCode) {
    bpftest::require_root();
    // Its object is built from the program without the log path: the same
    // programs, instruction for instruction, as before `log` existed.
    {
        auto plain = test::compile_or_die("block from any to any\n");
        auto logged = test::compile_or_die("block from any to any log\n");
        // (Small enough for the inline filters: the template without log
        // the back end picks for it, ObjectImage::build.)
        const auto pick =
            backend::pick_template(plain.image.meta, plain.image.code.size(), plain.image.code_out.size());
        auto pr = backend::programs_of(plain.image.elf),
             tr = backend::programs_of(backend::template_object(pick, plain.image.meta));
        auto lr = backend::programs_of(logged.image.elf);
        ASSERT_TRUE(pr.ok() && tr.ok() && lr.ok());
        const auto &p = *pr, &t = *tr, &l = *lr;
        ASSERT_EQ(p.size(), t.size());
        for (size_t i = 0; i < p.size() && i < t.size(); ++i) EXPECT_EQ(p[i].insns, t[i].insns) << p[i].name;
        size_t more = 0;
        for (size_t i = 0; i < l.size() && i < t.size(); ++i) more += l[i].insns > t[i].insns;
        EXPECT_GT(more, 0u) << "the log template has the log path";
    }
    const std::string base =
        "exemptions windows2000\ndefault permit\nblock proto tcp from any to any port 445";
    auto plain = Rig::make(base + "\n");
    auto logged = Rig::make(base + " log\n");
    ASSERT_TRUE(plain && logged);
    for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
        auto p = plain->lp->prog_stats(dir), l = logged->lp->prog_stats(dir);
        ASSERT_TRUE(p.ok() && l.ok());
        std::printf("  %s: xlated %u insns without log, %u with log\n", dir == SECPOL_DIR_IN ? "xdp" : "tc",
                    p->xlated_insns, l->xlated_insns);
        // The log path is dozens of instructions (helpers, bucket, record):
        // without the flag the verifier removed every one of them.
        EXPECT_GE(l->xlated_insns, p->xlated_insns + 40);
    }
}
