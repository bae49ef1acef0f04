// The walk's packed decision (secpol_abi.h SECPOL_PK_*): every action kind,
// in both directions, clear and protected, gives the verdict and the one
// per-rule counter slot that section 3 of docs/semantics.md and the
// reference classifier give, with the decision as generated code and with
// the node-array walker (which packs from the rule table), trace off (the
// production path, no rule table read after the walk) and on; the tunnel
// pre-walk and the `log` note read their bits of it.
#include <gtest/gtest.h>

#include "bpf_util.h"
#include "common/harness.h"
#include "log_ring.h"

using namespace secpol;

namespace {

// One rule of each kind, disjoint, so the order does not change the answer
// (run under both orders: the tree's shape does).
const char* kKinds = R"(policy "kinds"
exemptions none
order ORDER
default block
action require = secure
action request = secure accept-clear fallback-clear
action respond-only = secure accept-clear
action fallback-only = secure fallback-clear
permit from any to 10.9.0.1 "permit"
block from any to 10.9.0.2 "block"
require from any to 10.9.0.3 "require"
request from any to 10.9.0.4 "request"
respond-only from any to 10.9.0.5 "respond-only"
fallback-only from any to 10.9.0.6 "fallback-only"
permit from 2001:db8:9::/48 to any "v6 permit"
)";

struct Want {
    uint32_t rule;
    uint32_t rv;  // enum secpol_rule_verdict
};

// Section 3's table, written out independently of the program and of the
// reference: what rule r does to a clear or protected packet in dir.
Want expected(uint32_t rule, int dir, bool ipsec) {
    static const struct {
        bool secure, block, clear_in, clear_out;
    } kinds[] = {
        {false, false, true, true},   // permit
        {false, true, false, false},  // block
        {true, false, false, false},  // require
        {true, false, true, true},    // request
        {true, false, true, false},   // respond-only (accept-clear)
        {true, false, false, true},   // fallback-only (fallback-clear)
        {false, false, true, true},   // v6 permit
    };
    const auto& k = kinds[rule];
    if (k.secure && ipsec) return {rule, SECPOL_RV_PROTECTED};
    const bool ok = k.secure ? (dir == SECPOL_DIR_IN ? k.clear_in : k.clear_out) : !k.block;
    return {rule, ok ? uint32_t(SECPOL_RV_PERMIT) : uint32_t(SECPOL_RV_BLOCK)};
}

backend::Compiled compile(const std::string& text, bool generated) {
    front::Diagnostics diags;
    backend::CompileOptions co;
    if (!generated) co.codegen.max_insns = 0;  // nothing fits: the node-array walker
    auto r = backend::compile_policy_text(text, "kinds.pol", diags, co);
    if (!r || !r->has_value()) throw std::runtime_error("kinds.pol does not compile");
    return std::move(**r);
}

std::unique_ptr<rt::LoadedPolicy> load(const backend::Compiled& c, bool trace) {
    rt::LoadOptions lo;
    lo.trace = trace;
    auto l = rt::LoadedPolicy::load(c.image, net::LocalTable{}, lo);
    if (!l) {
        ADD_FAILURE() << "load failed: " << l.error().message;
        return nullptr;
    }
    return std::move(*l);
}

uint32_t rule_slot(uint32_t rule, int dir, uint32_t rv) {
    return SECPOL_CNT_RULE_BASE + (rule * 2 + uint32_t(dir)) * SECPOL_RV_COUNT + rv;
}

// One packet of the kinds policy through a loaded program: the reference
// agrees with section 3's table, and the program gives its verdict, counts
// exactly the rule's slot (and the ipsec slot for ESP), and with the trace
// names the rule.
void check_kind(const backend::Compiled& c, const rt::LoadedPolicy& l, uint32_t rule, int dir, bool ipsec,
                bool trace) {
    using namespace pkt;
    constexpr uint32_t kRepeat = 3;
    const bool v6 = rule == 6;
    const std::string far = v6 ? "2001:db8:9::7" : "10.9.0." + std::to_string(rule + 1);
    const std::string near = v6 ? "2001:db8:1::1" : "10.0.0.1";
    // "from any to X" (and "from P to any" for rule 6) whatever the direction.
    const std::string src = v6 ? far : near, dst = v6 ? near : far;
    const std::string what =
        "rule " + std::to_string(rule) + (dir ? " out" : " in") + (ipsec ? " esp" : " clear tcp");
    Packet p = v6 ? (ipsec ? Ethernet{} / IPv6{.src = src, .dst = dst} / ESP{} / Raw::zeros(16)
                           : Ethernet{} / IPv6{.src = src, .dst = dst} / TCP{.dport = 443})
                  : (ipsec ? Ethernet{} / IPv4{.src = src, .dst = dst} / ESP{} / Raw::zeros(16)
                           : Ethernet{} / IPv4{.src = src, .dst = dst} / TCP{.dport = 443});
    const pkt::Bytes b = p.bytes();
    const Want want = expected(rule, dir, ipsec);
    const ref::Decision d = ref::classify(c.policy, b.data(), b.size(), dir, net::LocalTable{});
    ASSERT_EQ(d.rule, want.rule) << what;
    ASSERT_EQ(d.rule_verdict, want.rv) << what;
    ASSERT_EQ(d.reason, uint32_t(want.rv == SECPOL_RV_PROTECTED ? SECPOL_R_IPSEC : SECPOL_R_FILTER)) << what;

    auto before = l.read_counters();
    ASSERT_TRUE(before) << before.error().message;
    auto r = l.test_run(dir, b.data(), b.size(), kRepeat);
    ASSERT_TRUE(r) << what << ": " << r.error().message;
    auto after = l.read_counters();
    ASSERT_TRUE(after) << after.error().message;

    EXPECT_EQ(bpftest::passed(dir, r->retval), want.rv != SECPOL_RV_BLOCK)
        << what << ": retval " << r->retval;
    EXPECT_EQ(bpftest::passed(dir, r->retval), d.verdict == SECPOL_V_PERMIT) << what;
    const uint32_t slot = rule_slot(want.rule, dir, want.rv);
    const uint32_t ipsec_slot = SECPOL_CNT_IPSEC * 2 + uint32_t(dir);
    ASSERT_EQ(before->size(), after->size());
    for (uint32_t s = 0; s < after->size(); ++s) {
        const uint64_t n = (*after)[s].packets - (*before)[s].packets;
        const uint64_t expect = s == slot || (ipsec && s == ipsec_slot) ? kRepeat : 0;
        EXPECT_EQ(n, expect) << what << ": counter slot " << s << " (the rule's is " << slot << ")";
    }
    EXPECT_EQ((*after)[slot].bytes - (*before)[slot].bytes, kRepeat * b.size()) << what;
    if (trace) {
        EXPECT_EQ(r->trace.detail, want.rule) << what;
        EXPECT_EQ(r->trace.reason, d.reason) << what;
        EXPECT_EQ(r->trace.verdict, d.verdict) << what;
    }
}

}  // namespace

TEST(CodegenDecision, EveryActionKindGivesItsVerdictAndCounterSlot) {
    test::require_root();
    for (const char* order : {"first-match", "specificity"}) {
        for (bool generated : {true, false}) {
            std::string text = kKinds;
            text.replace(text.find("ORDER"), 5, order);
            const backend::Compiled c = compile(text, generated);
            ASSERT_EQ(c.code.form,
                      generated ? backend::WalkerForm::Generated : backend::WalkerForm::NodeArray)
                << c.code.reason;
            for (bool trace : {false, true}) {
                SCOPED_TRACE(std::string(order) + (generated ? ", generated code" : ", node-array walker") +
                             (trace ? ", trace on" : ", trace off"));
                auto l = load(c, trace);
                ASSERT_TRUE(l);
                for (uint32_t rule = 0; rule < 7; ++rule)
                    for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT})
                        for (bool ipsec : {false, true}) check_kind(c, *l, rule, dir, ipsec, trace);
            }
        }
    }
}

// Tunnel filters: the pre-walk (before the exemptions) takes the packed
// value's SECPOL_PK_TUNNEL bit instead of the rule table's flag; a non-tunnel
// rule found there leaves the packet to the exemptions. Generated code and
// the node-array walker, against the reference, with each case's counter.
TEST(CodegenDecision, TunnelPreWalkReadsThePackedDecision) {
    test::require_root();
    const char* text = bpftest::kTunnelPolicy;
    using namespace pkt;
    const net::LocalTable locals = bpftest::locals_of({"203.0.113.1/24", "10.1.0.1/16"});
    const std::vector<std::pair<const char*, Packet>> cases = {
        {"transit ike: the tunnel's rule",
         Ethernet{} / IPv4{.src = "10.1.2.3", .dst = "10.2.3.4"} / UDP{.sport = 500, .dport = 500}},
        {"transit esp under the tunnel", Ethernet{} / IPv4{.src = "10.1.2.3", .dst = "10.2.3.4"} / ESP{}},
        {"local ike: exempt, not the block rule",
         Ethernet{} / IPv4{.src = "10.1.0.1", .dst = "10.2.3.4"} / UDP{.sport = 500, .dport = 500}},
        {"other transit ike: exempt before the block rule",
         Ethernet{} / IPv4{.src = "198.51.100.1", .dst = "198.51.100.2"} / UDP{.sport = 500, .dport = 500}},
        {"other transit udp 500: block",
         Ethernet{} / IPv4{.src = "198.51.100.1", .dst = "198.51.100.2"} / UDP{.sport = 501, .dport = 500}},
    };
    for (bool generated : {true, false}) {
        const backend::Compiled c = compile(text, generated);
        ASSERT_EQ(c.code.form, generated ? backend::WalkerForm::Generated : backend::WalkerForm::NodeArray);
        rt::LoadOptions lo;
        lo.trace = true;
        auto l = rt::LoadedPolicy::load(c.image, locals, lo);
        ASSERT_TRUE(l) << l.error().message;
        for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
            for (const auto& [name, p] : cases) {
                const std::string what = std::string(name) + (dir ? " (out)" : " (in)") +
                                         (generated ? ", generated" : ", node array");
                const pkt::Bytes b = p.bytes();
                const ref::Decision d = ref::classify(c.policy, b.data(), b.size(), dir, locals);
                auto before = (*l)->read_counters();
                ASSERT_TRUE(before);
                auto r = (*l)->test_run(dir, b.data(), b.size());
                ASSERT_TRUE(r) << r.error().message;
                auto after = (*l)->read_counters();
                ASSERT_TRUE(after);
                const uint32_t detail = d.reason == SECPOL_R_EXEMPTION ? d.exemption
                                        : d.reason == SECPOL_R_FILTER || d.reason == SECPOL_R_IPSEC ? d.rule
                                                                                                    : 0;
                EXPECT_EQ(bpftest::describe(r->trace.verdict, r->trace.reason, r->trace.detail),
                          bpftest::describe(d.verdict, d.reason, detail))
                    << what;
                const uint32_t slot = d.reason == SECPOL_R_FILTER || d.reason == SECPOL_R_IPSEC
                                          ? rule_slot(d.rule, dir, d.rule_verdict)
                                      : d.reason == SECPOL_R_EXEMPTION
                                          ? (SECPOL_CNT_EXEMPT + d.exemption) * 2 + dir
                                          : SECPOL_CNT_DEFAULT * 2 + dir;
                EXPECT_EQ((*after)[slot].packets - (*before)[slot].packets, 1u) << what << ": slot " << slot;
            }
        }
        // The cases above reach the tunnel's rule, an exemption and the block rule.
        const ref::Decision t = ref::classify(c.policy, cases[0].second.bytes().data(),
                                              cases[0].second.bytes().size(), SECPOL_DIR_IN, locals);
        EXPECT_EQ(t.reason, uint32_t(SECPOL_R_FILTER));
        EXPECT_EQ(t.rule, 0u);
    }
}

// The `log` note takes the packed value's SECPOL_PK_LOG bit: a filter with
// `log` gives one event naming its rule, one without gives none, whichever
// walker packed the decision.
TEST(CodegenDecision, LogBitNotesOnlyLoggingRules) {
    test::require_root();
    const char* text =
        "policy \"log kinds\"\nexemptions none\norder first-match\ndefault permit\n"
        "action require = secure\n"
        "block proto tcp from any to any port 445 log \"smb\"\n"
        "block proto udp from any to any port 53 \"dns\"\n"
        "permit proto tcp from any to any port 80 log \"web\"\n"
        "require proto tcp from any to any port 23 log \"telnet\"\n"
        "permit proto tcp from any to any port 22 \"ssh\"\n";
    using namespace pkt;
    auto frame = [](uint8_t proto, uint16_t dport) {
        return proto == 6 ? (Ethernet{} / IPv4{.src = "192.0.2.1", .dst = "192.0.2.2"} /
                             TCP{.sport = 40000, .dport = dport})
                                .bytes()
                          : (Ethernet{} / IPv4{.src = "192.0.2.1", .dst = "192.0.2.2"} /
                             UDP{.sport = 40000, .dport = dport})
                                .bytes();
    };
    const struct {
        uint8_t proto;
        uint16_t dport;
        uint32_t rule;
        bool logs;
    } cases[] = {
        {6, 445, 0, true}, {17, 53, 1, false}, {6, 80, 2, true}, {6, 23, 3, true}, {6, 22, 4, false}};
    for (bool generated : {true, false}) {
        SCOPED_TRACE(generated ? "generated code" : "node-array walker");
        const backend::Compiled c = compile(text, generated);
        ASSERT_EQ(c.code.form, generated ? backend::WalkerForm::Generated : backend::WalkerForm::NodeArray);
        auto l = rt::LoadedPolicy::load(c.image, net::LocalTable{}, rt::LoadOptions{});
        ASSERT_TRUE(l) << l.error().message;
        std::vector<secpol_log_event> events;
        auto ring = rt::LogRing::open((*l)->map_fd(SECPOL_MAP_LOG_RING),
                                      [&](const secpol_log_event& e) { events.push_back(e); });
        ASSERT_TRUE(ring) << ring.error().message;
        for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
            for (const auto& k : cases) {
                const pkt::Bytes b = frame(k.proto, k.dport);
                const ref::Decision d = ref::classify(c.policy, b.data(), b.size(), dir, net::LocalTable{});
                ASSERT_EQ(d.rule, k.rule);
                ASSERT_EQ(d.log, k.logs);
                events.clear();
                auto r = (*l)->test_run(dir, b.data(), b.size());
                ASSERT_TRUE(r) << r.error().message;
                ASSERT_TRUE((*ring)->drain());
                EXPECT_EQ(bpftest::passed(dir, r->retval), d.verdict == SECPOL_V_PERMIT) << "rule " << k.rule;
                ASSERT_EQ(events.size(), k.logs ? 1u : 0u) << "rule " << k.rule << (dir ? " out" : " in");
                if (k.logs) {
                    EXPECT_EQ(events[0].rule, k.rule);
                    EXPECT_EQ(events[0].reason, d.reason);
                    EXPECT_EQ(events[0].verdict, d.verdict);
                    EXPECT_EQ(events[0].dir, uint32_t(dir));
                }
            }
        }
    }
}
