// replay's comparison with the reference: the whole decision (verdict,
// reason, and the rule or exemption behind it) must match, not the verdict
// alone (issue 12 item 18).
#include "runtime/replay.h"

#include <gtest/gtest.h>

using namespace secpol;

namespace {

rt::PacketOutcome outcome(uint32_t verdict, uint32_t reason, uint32_t detail) {
    rt::PacketOutcome o;
    o.ran = true;
    o.verdict = verdict, o.reason = reason, o.detail = detail;
    o.ref.verdict = SECPOL_V_PERMIT;
    o.ref.reason = SECPOL_R_FILTER;
    o.ref.rule = 1;
    return o;
}

}  // namespace

TEST(ReplayAgree, TheWholeDecisionIsCompared) {
    EXPECT_TRUE(outcome(SECPOL_V_PERMIT, SECPOL_R_FILTER, 1).agree());
    EXPECT_FALSE(outcome(SECPOL_V_BLOCK, SECPOL_R_FILTER, 1).agree()) << "verdict";
    EXPECT_FALSE(outcome(SECPOL_V_PERMIT, SECPOL_R_DEFAULT, 0).agree()) << "reason, same verdict";
    EXPECT_FALSE(outcome(SECPOL_V_PERMIT, SECPOL_R_FILTER, 2).agree())
        << "another rule, same verdict and reason";
    EXPECT_FALSE(outcome(0xffffffffu, SECPOL_R_FILTER, 1).agree()) << "trace and return code disagree";
    auto ex = outcome(SECPOL_V_PERMIT, SECPOL_R_EXEMPTION, SECPOL_EX_IKE);
    ex.ref.reason = SECPOL_R_EXEMPTION;
    ex.ref.exemption = SECPOL_EX_KERBEROS;
    EXPECT_FALSE(ex.agree()) << "another exemption";
    ex.ref.exemption = SECPOL_EX_IKE;
    EXPECT_TRUE(ex.agree());
    auto ipsec = outcome(SECPOL_V_PERMIT, SECPOL_R_IPSEC, 3);
    ipsec.ref.reason = SECPOL_R_IPSEC;
    EXPECT_FALSE(ipsec.agree()) << "protected packet credited to another rule";
}
