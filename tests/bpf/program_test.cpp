// The program and its loader with a hand-written node program: the walk,
// rule actions, counters (slots and bytes), the trace, and loading images.
#include <bpf/bpf.h>

#include <cstdio>
#include <fstream>

#include "bpf_util.h"

using namespace secpol;
using namespace secpol::bpftest;

namespace {

constexpr uint32_t kXdpDrop = 1, kXdpPass = 2, kTcOk = 0, kTcShot = 2;

// "block TCP dport 445" as nodes, by hand: proto, not a fragment, port.
std::vector<secpol_node> block_445_nodes() {
    return {
        {SECPOL_F_PROTO, 6, 6, 1, 3, 0},     {SECPOL_F_FRAG, 0, 0, 2, 3, 0},
        {SECPOL_F_DPORT, 445, 445, 4, 3, 0}, {SECPOL_NODE_NOMATCH, 0, 0, 0, 0, 0},
        {SECPOL_NODE_MATCH, 0, 0, 0, 0, 0},
    };
}

backend::ObjectImage block_445_image(uint32_t exemptions = 0) {
    secpol_config cfg{};
    cfg.exemptions = exemptions;
    cfg.default_action = SECPOL_ACT_PERMIT;
    cfg.root_in = cfg.root_out = 0;
    cfg.nrules = 1;
    auto meta = backend::ObjectMeta::bare(cfg, {{SECPOL_ACT_BLOCK, 0}});
    meta.policy.label = "hand-built";
    meta.source = "block tcp 445";
    auto img = backend::ObjectImage::build(meta, block_445_nodes());
    EXPECT_TRUE(img.ok()) << (img.ok() ? "" : img.error().message);
    return img.ok() ? std::move(*img) : backend::ObjectImage{};
}

std::unique_ptr<rt::LoadedPolicy> load(const backend::ObjectImage& img, bool trace = true,
                                       const net::LocalTable& locals = {}) {
    rt::LoadOptions o;
    o.trace = trace;
    auto lp = rt::LoadedPolicy::load(img, locals, o);
    EXPECT_TRUE(lp.ok()) << (lp.ok() ? "" : lp.error().message);
    return lp.ok() ? std::move(*lp) : nullptr;
}

pkt::Bytes tcp(uint16_t dport, const char* dst = "10.0.0.2") {
    return (pkt::Ethernet{} / pkt::IPv4{.src = "10.0.0.1", .dst = dst} /
            pkt::TCP{.sport = 40000, .dport = dport})
        .bytes();
}

uint32_t rule_slot(uint32_t rule, uint32_t dir, uint32_t rv) {
    return SECPOL_CNT_RULE_BASE + (rule * 2 + dir) * SECPOL_RV_COUNT + rv;
}
uint32_t special_slot(uint32_t kind, uint32_t dir) {
    return kind * 2 + dir;
}

}  // namespace

TEST(BpfProgram, RootAndTemplate) {
    require_root();
    ASSERT_GT(backend::template_object().size(), 64u);
    EXPECT_EQ(backend::template_object()[0], 0x7f);
    EXPECT_EQ(backend::template_object()[1], 'E');
}

TEST(BpfProgram, ForestKeepsTheBestCandidate) {
    require_root();
    // Two trees by hand. Tree 1: TCP -> candidate rule 0 (filter #5).
    // Tree 2 (entered only while nothing better than #7 is held):
    // dport 445 -> candidate rule 1 (filter #9). Rule 0 permits, rule 1 blocks.
    std::vector<secpol_node> nodes = {
        {SECPOL_NODE_NOMATCH, 0, 0, 0, 0, 0},     // 0
        {SECPOL_NODE_CAND, 1, 9, 0, 0, 0},        // 1
        {SECPOL_F_DPORT, 445, 445, 1, 0, 0},      // 2: tree 2 root
        {SECPOL_F_BEST, 7, UINT32_MAX, 2, 0, 0},  // 3: tree 2 entry
        {SECPOL_NODE_CAND, 0, 5, 3, 0, 0},        // 4
        {SECPOL_F_PROTO, 6, 6, 4, 3, 0},          // 5: tree 1 root
    };
    secpol_config cfg{};
    cfg.default_action = SECPOL_ACT_PERMIT;
    cfg.root_in = cfg.root_out = 5;
    cfg.nrules = 2;
    auto meta = backend::ObjectMeta::bare(cfg, {{SECPOL_ACT_PERMIT, 0}, {SECPOL_ACT_BLOCK, 0}});
    meta.policy.label = "forest";
    auto img = backend::ObjectImage::build(meta, nodes);
    ASSERT_TRUE(img.ok()) << img.error().message;
    auto lp = load(*img);
    ASSERT_TRUE(lp);
    struct Case {
        pkt::Bytes frame;
        uint32_t retval, rule;
    } cases[] = {
        // TCP 445: #5 held, tree 2 skipped: rule 0 permits.
        {tcp(445), kXdpPass, 0},
        // UDP 445: nothing held, tree 2's candidate: rule 1 blocks.
        {(pkt::Ethernet{} / pkt::IPv4{.src = "10.0.0.1", .dst = "10.0.0.2"} /
          pkt::UDP{.sport = 1, .dport = 445})
             .bytes(),
         kXdpDrop, 1},
    };
    for (const auto& c : cases) {
        auto r = lp->test_run(SECPOL_DIR_IN, c.frame.data(), c.frame.size());
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(r->retval, c.retval);
        EXPECT_EQ(r->trace.reason, SECPOL_R_FILTER);
        EXPECT_EQ(r->trace.detail, c.rule);
    }
    // UDP to another port: no candidate at all, the default permits.
    auto b = (pkt::Ethernet{} / pkt::IPv4{.src = "10.0.0.1", .dst = "10.0.0.2"} /
              pkt::UDP{.sport = 1, .dport = 53})
                 .bytes();
    auto r = lp->test_run(SECPOL_DIR_IN, b.data(), b.size());
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->retval, kXdpPass);
    EXPECT_EQ(r->trace.reason, SECPOL_R_DEFAULT);
}

TEST(BpfProgram, HandBuiltTreeBothDirections) {
    require_root();
    auto img = block_445_image();
    auto lp = load(img);
    ASSERT_TRUE(lp);
    for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
        const uint32_t pass = dir == SECPOL_DIR_IN ? kXdpPass : kTcOk;
        const uint32_t drop = dir == SECPOL_DIR_IN ? kXdpDrop : kTcShot;
        auto b = tcp(445);
        auto r = lp->test_run(dir, b.data(), b.size());
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(r->retval, drop);
        EXPECT_EQ(r->trace.verdict, SECPOL_V_BLOCK);
        EXPECT_EQ(r->trace.reason, SECPOL_R_FILTER);
        EXPECT_EQ(r->trace.detail, 0u);
        EXPECT_EQ(r->trace.key.w[SECPOL_F_PROTO], 6u);
        EXPECT_EQ(r->trace.key.w[SECPOL_F_DPORT], 445u);
        EXPECT_EQ(r->trace.key.w[SECPOL_F_SPORT], 40000u);
        EXPECT_EQ(r->trace.key.w[SECPOL_F_SRC2], 0xffffu);
        EXPECT_EQ(r->trace.key.w[SECPOL_F_SRC3], 0x0a000001u);
        EXPECT_EQ(r->trace.key.w[SECPOL_F_DST3], 0x0a000002u);

        b = tcp(80);
        r = lp->test_run(dir, b.data(), b.size());
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(r->retval, pass);
        EXPECT_EQ(r->trace.reason, SECPOL_R_DEFAULT);

        b = (pkt::Ethernet{} / pkt::IPv4{} / pkt::UDP{.dport = 445}).bytes();
        r = lp->test_run(dir, b.data(), b.size());
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(r->retval, pass);
        EXPECT_EQ(r->trace.reason, SECPOL_R_DEFAULT);
    }
}

TEST(BpfProgram, DefaultBlockAndFragmentReason) {
    require_root();
    secpol_config cfg{};
    cfg.default_action = SECPOL_ACT_BLOCK;
    cfg.nrules = 1;
    auto img = backend::ObjectImage::build(backend::ObjectMeta::bare(cfg, {{SECPOL_ACT_PERMIT, 0}}),
                                           block_445_nodes());
    ASSERT_TRUE(img.ok()) << img.error().message;
    auto lp = load(*img);
    ASSERT_TRUE(lp);
    auto b = tcp(445);
    auto r = lp->test_run(SECPOL_DIR_IN, b.data(), b.size());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->retval, kXdpPass);  // the rule permits
    b = tcp(80);
    r = lp->test_run(SECPOL_DIR_IN, b.data(), b.size());
    EXPECT_EQ(r->retval, kXdpDrop);
    EXPECT_EQ(r->trace.reason, SECPOL_R_DEFAULT);
    b = (pkt::Ethernet{} / pkt::IPv4{.frag_offset = 100} / pkt::Raw::zeros(16)).bytes();
    r = lp->test_run(SECPOL_DIR_OUT, b.data(), b.size());
    EXPECT_EQ(r->retval, kTcShot);
    EXPECT_EQ(r->trace.reason, SECPOL_R_FRAGMENT);
    EXPECT_EQ(r->trace.key.w[SECPOL_F_FRAG], 1u);
}

TEST(BpfProgram, CountersOneDecisionSlotPerPacketWithBytes) {
    require_root();
    auto img = block_445_image(1u << SECPOL_EX_IKE);
    auto lp = load(img, /*trace=*/false);
    ASSERT_TRUE(lp);
    struct Case {
        pkt::Bytes b;
        int dir;
        uint32_t slot;
        uint32_t repeat;
    };
    std::vector<Case> cases = {
        {tcp(445), SECPOL_DIR_IN, rule_slot(0, SECPOL_DIR_IN, SECPOL_RV_BLOCK), 3},
        {tcp(445), SECPOL_DIR_OUT, rule_slot(0, SECPOL_DIR_OUT, SECPOL_RV_BLOCK), 2},
        {tcp(80), SECPOL_DIR_IN, special_slot(SECPOL_CNT_DEFAULT, SECPOL_DIR_IN), 5},
        {(pkt::Ethernet{} / pkt::IPv4{} / pkt::UDP{.sport = 500, .dport = 500}).bytes(), SECPOL_DIR_OUT,
         special_slot(uint32_t(SECPOL_CNT_EXEMPT) + SECPOL_EX_IKE, SECPOL_DIR_OUT), 4},
        {(pkt::Ethernet{.type = 0x0806} / pkt::Raw::zeros(28)).bytes(), SECPOL_DIR_IN,
         special_slot(SECPOL_CNT_NONIP, SECPOL_DIR_IN), 1},
        {(pkt::Ethernet{} / pkt::IPv4{.ihl = 4} / pkt::Raw::zeros(30)).bytes(), SECPOL_DIR_IN,
         special_slot(SECPOL_CNT_MALFORMED, SECPOL_DIR_IN), 2},
        {(pkt::Ethernet{} / pkt::IPv4{.frag_offset = 10} / pkt::Raw::zeros(8)).bytes(), SECPOL_DIR_OUT,
         special_slot(SECPOL_CNT_FRAGMENT, SECPOL_DIR_OUT), 1},
    };
    std::vector<secpol_counter> want(SECPOL_CNT_SLOTS(1));
    for (const auto& c : cases) {
        auto r = lp->test_run(c.dir, c.b.data(), c.b.size(), c.repeat);
        ASSERT_TRUE(r.ok()) << r.error().message;
        want[c.slot].packets += c.repeat;
        want[c.slot].bytes += c.repeat * c.b.size();
    }
    auto got = lp->read_counters();
    ASSERT_TRUE(got.ok()) << got.error().message;
    ASSERT_EQ(got->size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ((*got)[i].packets, want[i].packets) << "slot " << i;
        EXPECT_EQ((*got)[i].bytes, want[i].bytes) << "slot " << i;
    }
}

TEST(BpfProgram, IpsecCounterIsExtra) {
    require_root();
    auto img = block_445_image(1u << SECPOL_EX_IKE_NATT);
    auto lp = load(img, false);
    ASSERT_TRUE(lp);
    auto esp = (pkt::Ethernet{} / pkt::IPv4{} / pkt::ESP{.spi = 7} / pkt::Raw::zeros(20)).bytes();
    auto natt =
        (pkt::Ethernet{} / pkt::IPv4{} / pkt::UDP{.sport = 4500, .dport = 4500} / pkt::ESP{.spi = 9}).bytes();
    ASSERT_TRUE(lp->test_run(SECPOL_DIR_IN, esp.data(), esp.size(), 2).ok());
    ASSERT_TRUE(lp->test_run(SECPOL_DIR_OUT, natt.data(), natt.size(), 1).ok());
    auto c = lp->read_counters();
    ASSERT_TRUE(c.ok());
    EXPECT_EQ((*c)[special_slot(SECPOL_CNT_DEFAULT, SECPOL_DIR_IN)].packets, 2u);
    EXPECT_EQ((*c)[special_slot(SECPOL_CNT_IPSEC, SECPOL_DIR_IN)].packets, 2u);
    EXPECT_EQ((*c)[special_slot(SECPOL_CNT_IPSEC, SECPOL_DIR_IN)].bytes, 2 * esp.size());
    EXPECT_EQ((*c)[special_slot(uint32_t(SECPOL_CNT_EXEMPT) + SECPOL_EX_IKE_NATT, SECPOL_DIR_OUT)].packets,
              1u);
    EXPECT_EQ((*c)[special_slot(SECPOL_CNT_IPSEC, SECPOL_DIR_OUT)].packets, 1u);
    uint64_t total = 0;
    for (size_t i = 0; i < c->size(); ++i)
        if (i != special_slot(SECPOL_CNT_IPSEC, 0) && i != special_slot(SECPOL_CNT_IPSEC, 1))
            total += (*c)[i].packets;
    EXPECT_EQ(total, 3u);  // decision slots sum to the packets seen
}

TEST(BpfProgram, TraceSequenceAndOffByDefault) {
    require_root();
    auto img = block_445_image();
    auto lp = load(img, true);
    ASSERT_TRUE(lp);
    auto b = tcp(445);
    auto r1 = lp->test_run(SECPOL_DIR_IN, b.data(), b.size(), 1);
    auto r2 = lp->test_run(SECPOL_DIR_IN, b.data(), b.size(), 10);
    ASSERT_TRUE(r1.ok() && r2.ok());
    EXPECT_EQ(r2->trace.seq - r1->trace.seq, 10u);
    EXPECT_TRUE(lp->config().flags & SECPOL_CFG_TRACE);

    auto quiet = load(img, false);
    ASSERT_TRUE(quiet);
    EXPECT_FALSE(quiet->config().flags & SECPOL_CFG_TRACE);
    ASSERT_TRUE(quiet->test_run(SECPOL_DIR_IN, b.data(), b.size()).ok());
    secpol_trace t{};
    const uint32_t zero = 0;
    ASSERT_EQ(bpf_map_lookup_elem(quiet->map_fd(SECPOL_MAP_TRACE), &zero, &t), 0);
    EXPECT_EQ(t.seq, 0u);  // the trace code was pruned
}

TEST(BpfProgram, MapsSizedFromThePolicy) {
    require_root();
    auto img = block_445_image();
    auto lp = load(img);
    ASSERT_TRUE(lp);
    auto entries = [&](const char* name) {
        bpf_map_info info{};
        uint32_t n = sizeof(info);
        EXPECT_EQ(bpf_obj_get_info_by_fd(lp->map_fd(name), &info, &n), 0) << name;
        return info.max_entries;
    };
    EXPECT_EQ(entries(SECPOL_MAP_NODES), 5u);
    EXPECT_EQ(entries(SECPOL_MAP_RULES), 1u);
    EXPECT_EQ(entries(SECPOL_MAP_COUNTERS), SECPOL_CNT_SLOTS(1));
    EXPECT_EQ(entries(SECPOL_MAP_TRACE), 1u);
    secpol_node n{};
    const uint32_t k = 2;
    ASSERT_EQ(bpf_map_lookup_elem(lp->map_fd(SECPOL_MAP_NODES), &k, &n), 0);
    EXPECT_EQ(n.lo, 445u);
}

TEST(BpfProgram, ProgStats) {
    require_root();
    auto img = block_445_image();
    auto lp = load(img, false);
    ASSERT_TRUE(lp);
    for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
        auto s = lp->prog_stats(dir);
        ASSERT_TRUE(s.ok()) << s.error().message;
        EXPECT_GT(s->xlated_insns, 50u);
        EXPECT_GT(s->verified_insns, s->xlated_insns / 2);
        std::printf("%s: xlated %u insns, jited %u bytes, verifier processed %u\n",
                    dir == SECPOL_DIR_IN ? "secpol_ingress" : "secpol_egress", s->xlated_insns,
                    s->jited_bytes, s->verified_insns);
    }
}

TEST(ObjectImage, EmptyPolicyLoads) {
    require_root();
    secpol_config cfg{};
    cfg.default_action = SECPOL_ACT_BLOCK;
    auto img = backend::ObjectImage::build(backend::ObjectMeta::bare(cfg, {}),
                                           {{SECPOL_NODE_NOMATCH, 0, 0, 0, 0, 0}});
    ASSERT_TRUE(img.ok());
    auto lp = load(*img);
    ASSERT_TRUE(lp);
    auto b = tcp(80);
    auto r = lp->test_run(SECPOL_DIR_IN, b.data(), b.size());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->retval, kXdpDrop);
    EXPECT_EQ(r->trace.reason, SECPOL_R_DEFAULT);
}

// The loader checks the format version of an image built in memory too (one
// read from a file is refused earlier, by the object reader).
TEST(ObjectImage, LoaderRefusesAnotherFormatVersion) {
    require_root();
    auto img = block_445_image();
    img.meta.format = backend::kObjectFormat + 1;
    auto lp = rt::LoadedPolicy::load(img, {});
    ASSERT_FALSE(lp.ok());
    EXPECT_NE(lp.error().message.find("format version " + std::to_string(backend::kObjectFormat + 1)),
              std::string::npos)
        << lp.error().message;
    EXPECT_NE(lp.error().message.find("version " + std::to_string(backend::kObjectFormat)),
              std::string::npos);
}
