// The compiled program against the reference classifier: random policies of
// every field kind, both orders, every exemption profile, IPv4 and IPv6, times
// aimed, random and adversarial packets, both directions. Zero disagreements.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "bpf_util.h"
#include "common/harness.h"
#include "counters.h"
#include "gen/generator.h"
#include "gen/packets.h"
#include "ref/classify.h"
#include "replay.h"

using namespace secpol;

namespace {

std::string hex(const std::vector<uint8_t>& b) {
    std::string s;
    char buf[4];
    for (auto c : b) {
        std::snprintf(buf, sizeof buf, "%02x", c);
        s += buf;
    }
    return s;
}

struct Totals {
    uint64_t packets = 0, disagreements = 0;
    unsigned forests = 0;    // policies whose program is a forest of trees
    unsigned generated = 0;  // policies whose decision ran as generated instructions
    unsigned spliced = 0;    // ... spliced into its callers (runtime/walk_splice.h)
    unsigned called = 0;     // ... as the called subprogram secpol_walk
    // Loads by the template their object was built from (backend::pick_template).
    unsigned inline_direct = 0;  // the filters inline, no opaque store before the walk
    unsigned inline_opaque = 0;  // the filters inline, the record made opaque before it
    unsigned kept_notes = 0;
};

// Trace off, the production program: the packet's fate comes from the return
// code, which rule decided it from the counters, which must equal, slot by
// slot, what the reference's decisions add up to.
void count_form(const backend::Compiled& c, const rt::LoadedPolicy& l, Totals& t) {
    if (c.code.form != backend::WalkerForm::Generated) return;
    switch (backend::pick_template(c.image.meta, c.image.code.size(), c.image.code_out.size())) {
        case backend::Template::InlineDirect:
            ++t.inline_direct;
            break;
        case backend::Template::Inline:
            ++t.inline_opaque;
            break;
        default:
            break;
    }
    if (l.spliced_calls())
        ++t.spliced;
    else
        ++t.called;
    if (!l.splice_kept_why().empty() && t.kept_notes++ < 3)
        std::printf("  a call of the walk stays: %s\n", l.splice_kept_why().c_str());
}

void run_production(const backend::Compiled& c, const std::vector<rt::Packet>& pkts,
                    const net::LocalTable& locals, uint64_t seed, size_t splice_max, Totals& t) {
    rt::LoadOptions lo;
    lo.splice_max = splice_max;
    auto loaded = rt::LoadedPolicy::load(c.image, locals, lo);
    ASSERT_TRUE(loaded) << loaded.error().message;
    count_form(c, **loaded, t);
    std::vector<uint64_t> expect(rt::slot_count(c.policy.rules.size()), 0);
    for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
        for (size_t i = 0; i < pkts.size(); ++i) {
            const auto& p = pkts[i];
            if (p.size() < 14) continue;
            auto r = (*loaded)->test_run(dir, p.data(), p.size());
            if (!r && dir == SECPOL_DIR_OUT && rt::tc_test_run_refuses(p.data(), p.size())) continue;
            ASSERT_TRUE(r) << r.error().message;
            const auto d = ref::classify(c.policy, p.data(), p.size(), dir, locals);
            ++t.packets;
            expect[bpftest::expected_slot(d, dir)]++;
            if (d.reason != SECPOL_R_MALFORMED && d.reason != SECPOL_R_NONIP && d.key.w[SECPOL_F_IPSEC])
                expect[rt::special_slot(SECPOL_CNT_IPSEC, dir)]++;
            const bool passed = dir == SECPOL_DIR_IN ? r->retval == 2 /* XDP_PASS */ : r->retval == 0;
            if (passed != (d.verdict == SECPOL_V_PERMIT) && ++t.disagreements <= 5)
                ADD_FAILURE() << "trace off, seed " << seed << " dir " << dir << " packet " << hex(p)
                              << "\n  return code " << r->retval
                              << "\n  reference: " << ref::decision_json(c.policy, d).dump();
        }
    }
    auto counters = (*loaded)->read_counters();
    ASSERT_TRUE(counters) << counters.error().message;
    for (size_t s = 0; s < expect.size(); ++s)
        if ((*counters)[s].packets != expect[s] && ++t.disagreements <= 5)
            ADD_FAILURE() << "trace off, seed " << seed << ": counter slot " << s << " has "
                          << (*counters)[s].packets << " packets, the reference decided " << expect[s];
}

void run_text(const std::string& text, uint64_t seed, unsigned packets, bool trace, Totals& t,
              size_t splice_max = rt::kSpliceMaxDefault) {
    // A load or test-run failure names the policy it failed on, as the disagreements do.
    SCOPED_TRACE("policy seed " + std::to_string(seed) + ", splice_max " + std::to_string(splice_max));
    auto c = test::compile_or_die(text, "gen-" + std::to_string(seed) + ".pol");
    const auto locals = gen::default_locals();
    t.forests += std::any_of(c.program.nodes.begin(), c.program.nodes.end(),
                             [](const secpol_node& n) { return n.field == SECPOL_NODE_CAND; });
    t.generated += c.code.form == backend::WalkerForm::Generated;
    gen::PacketGen pg(c.policy, locals, seed * 7919);

    std::vector<rt::Packet> pkts(packets);
    for (auto& p : pkts) p = pg.next();
    if (!trace) return run_production(c, pkts, locals, seed, splice_max, t);
    auto loaded = test::load_or_die(c, locals, splice_max);
    count_form(c, *loaded, t);
    for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
        rt::ReplayOptions ro;
        ro.dir = dir;
        ro.locals = locals;
        auto rep = rt::replay(c, *loaded, pkts, ro);
        ASSERT_TRUE(rep) << rep.error().message;
        t.packets += rep->packets.size() - rep->not_run;
        for (const auto& out : rep->packets) {
            if (out.agree()) continue;
            if (++t.disagreements <= 5)
                ADD_FAILURE() << "seed " << seed << " dir " << (dir ? "out" : "in") << " packet "
                              << hex(pkts[out.index]) << "\n  bpf: " << rt::outcome_text(c.policy, out, false)
                              << "\n  reference: " << ref::decision_json(c.policy, out.ref).dump() << "\n"
                              << (text.size() < 100000 ? text
                                                       : std::string("(policy text too long to print)"));
        }
    }
}

void run_policy(uint64_t seed, unsigned filters, unsigned packets, bool trace, Totals& t, size_t splice_max) {
    run_text(gen::generate_policy(gen::differential_options(seed, filters)), seed, packets, trace, t,
             splice_max);
}

void run_all(bool trace) {
    Totals t;
    // 120 policies x 4,400 packets x 2 directions: over 1,000,000 packets run (some frames the kernel refuses
    // for a tc test run are not counted).
    for (uint64_t seed = 1; seed <= 120; ++seed) {
        // 300 random filters overlap enough to be built as a forest (docs/design.md).
        static const unsigned sizes[] = {1, 4, 12, 40, 100, 300};
        // Every other round of the six sizes keeps the walk a called
        // subprogram, the others splice it into its callers.
        run_policy(seed, sizes[seed % 6], 4400, trace, t, (seed / 6) % 2 ? 0 : rt::kSpliceMaxDefault);
        if (t.disagreements > 20) break;
    }
    std::printf(
        "differential (trace %s): %llu packets through BPF_PROG_TEST_RUN, %llu disagreements with the "
        "reference "
        "(%u of 120 policies built as forests, %u run as generated code: %u spliced into the caller, %u "
        "called; %u from the inline template without the opaque store, %u with it)\n",
        trace ? "on" : "off", (unsigned long long)t.packets, (unsigned long long)t.disagreements, t.forests,
        t.generated, t.spliced, t.called, t.inline_direct, t.inline_opaque);
    EXPECT_GT(t.forests, 0u);
    EXPECT_EQ(t.generated, 120u);
    EXPECT_GE(t.spliced, 50u);
    EXPECT_GE(t.called, 50u);
    // Both inline templates run here (the sizes straddle backend::kOpaqueMaxInsns).
    EXPECT_GE(t.inline_direct, 40u);
    EXPECT_GE(t.inline_opaque, 20u);
    EXPECT_EQ(t.disagreements, 0u);
    EXPECT_GE(t.packets, 1000000u);
}

}  // namespace

// The generated decision with the trace map on: verdict, reason and rule per packet.
TEST(Differential, RandomPoliciesAgreeWithReference) {
    test::require_root();
    run_all(true);
}

// The production program (trace off, `me` looked up lazily): verdict per
// packet, rule and reason through the counters.
TEST(Differential, ProductionProgramAgreesWithReference) {
    test::require_root();
    run_all(false);
}

// Issue 11: the benchmark's 10,000-filter policies (tests/support/gen, seed
// 1000 + size, 10 % `me`, 20 % IPv6, mirrored and secure filters), in both
// orders, load as generated code, not the node-array fallback, and agree
// with the reference with the trace off and on.
TEST(Differential, TenThousandGeneratedFiltersRunAsCodeAndAgree) {
    test::require_root();
    for (bool first_match : {true, false}) {
        SCOPED_TRACE(first_match ? "first-match" : "specificity");
        const gen::Options o = gen::bench_options(10000, first_match);
        const std::string text = gen::generate_policy(o);
        for (bool trace : {false, true}) {
            Totals t;
            run_text(text, o.seed, 10000, trace, t);
            std::printf(
                "differential, 10,000 generated filters, %s, trace %s: %llu packets, %llu disagreements\n",
                first_match ? "first-match" : "specificity", trace ? "on" : "off",
                (unsigned long long)t.packets, (unsigned long long)t.disagreements);
            EXPECT_EQ(t.generated, 1u) << "the 10,000-filter policy took the node-array fallback";
            EXPECT_EQ(t.disagreements, 0u);
            EXPECT_GE(t.packets, 19000u);
        }
    }
}
