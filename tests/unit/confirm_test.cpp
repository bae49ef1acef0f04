// The pending confirmation of `load --confirm` (runtime/confirm.h): its
// file round trip and removal, and the counts a revert gives back.
#include "runtime/confirm.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "runtime/state.h"

namespace rt = secpol::rt;
using nlohmann::json;

namespace {

rt::RuleRows rules(std::initializer_list<std::pair<const char*, const char*>> lt) {
    rt::RuleRows a;
    for (auto [label, text] : lt) {
        a.emplace_back();
        a.back().label = label;
        a.back().text = text;
    }
    return a;
}

rt::PendingConfirm sample() {
    rt::PendingConfirm p;
    p.iface = "veth-c0";
    p.token = "0123456789abcdef";
    p.started_at = 1700000000;
    p.deadline_ms = 1700000030500;
    p.seconds = 30;
    p.new_ingress_prog_id = 42;
    p.new_label = "B";
    p.timer_pid = 1234;
    p.timer_start = 99;
    p.has_previous = true;
    p.prev_label = "A";
    p.prev_policy_file = "/etc/secpol/interfaces.d/eth0.pol";
    p.prev_local_spec = {"auto", "192.0.2.1"};
    p.restore =
        json::array({{{"id", 1}, {"slots", json::array({{1, 2}, {0, 0}, {0, 0}, {0, 0}, {3, 4}, {0, 0}})}}});
    return p;
}

}  // namespace

TEST(Confirm, JsonRoundTrip) {
    auto p = sample();
    auto back = rt::PendingConfirm::from_json(p.to_json());
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->to_json(), p.to_json());
    EXPECT_EQ(back->prev_local_spec, p.prev_local_spec);
    EXPECT_EQ(back->deadline_ms, 1700000030500);

    p.has_previous = false;  // a first load: the revert unloads
    auto none = rt::PendingConfirm::from_json(p.to_json());
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_previous);
    EXPECT_TRUE(p.to_json()["previous"].is_null());
}

TEST(Confirm, RejectsOtherFormatsAndMissingFields) {
    auto j = sample().to_json();
    j["format"] = "secpol-confirm-9";
    EXPECT_FALSE(rt::PendingConfirm::from_json(j).ok());
    j = sample().to_json();
    j.erase("deadline_ms");
    EXPECT_FALSE(rt::PendingConfirm::from_json(j).ok());
    j = sample().to_json();
    j["restore"] = "x";
    EXPECT_FALSE(rt::PendingConfirm::from_json(j).ok());
}

TEST(Confirm, JsonForStatusNamesTargetAndDeadline) {
    auto p = sample();
    p.deadline_ms = rt::now_ms() + 10'000;
    p.timer_pid = 0;
    auto j = rt::pending_json(p);
    EXPECT_EQ(j["policy"], "B");
    EXPECT_EQ(j["revert_to"]["policy"], "A");
    EXPECT_GE(j["seconds_left"].get<int64_t>(), 9);
    EXPECT_LE(j["seconds_left"].get<int64_t>(), 10);
    EXPECT_EQ(j["deadline"], rt::format_time(j["deadline_unix"].get<int64_t>()));
    EXPECT_FALSE(j["timer_running"].get<bool>());
    p.has_previous = false;
    EXPECT_TRUE(rt::pending_json(p)["revert_to"].is_null());
}

TEST(Confirm, TimerAliveOnlyForTheSameLiveProcess) {
    rt::PendingConfirm p = sample();
    p.timer_pid = getpid();
    p.timer_start = rt::process_start_time(getpid());
    ASSERT_NE(p.timer_start, 0u);
    EXPECT_TRUE(rt::timer_alive(p));
    p.timer_start += 1;  // the pid of another process that started later
    EXPECT_FALSE(rt::timer_alive(p));
    p.timer_pid = 0;
    EXPECT_FALSE(rt::timer_alive(p));
}

TEST(Confirm, WriteReadCancel) {
    auto dir = std::filesystem::temp_directory_path() / ("secpol-confirm-test-" + std::to_string(getpid()));
    setenv("SECPOL_RUN_DIR", dir.c_str(), 1);
    auto p = sample();
    p.timer_pid = 0;  // nothing to wake
    auto none = rt::read_pending(p.iface);
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());
    ASSERT_TRUE(rt::write_pending(p).ok());
    ASSERT_TRUE(rt::write_confirm_object(p.iface, {0x7f, 'E', 'L', 'F'}).ok());
    auto back = rt::read_pending(p.iface);
    ASSERT_TRUE(back.ok() && back->has_value());
    EXPECT_EQ((*back)->token, p.token);
    auto obj = rt::read_confirm_object(p.iface);
    ASSERT_TRUE(obj.ok());
    EXPECT_EQ(obj->size(), 4u);
    ASSERT_TRUE(rt::cancel_pending(p.iface).ok());
    EXPECT_FALSE(std::filesystem::exists(rt::confirm_path(p.iface)));
    EXPECT_FALSE(std::filesystem::exists(rt::confirm_object_path(p.iface)));
    EXPECT_TRUE(rt::cancel_pending(p.iface).ok());  // nothing pending: fine
    // An unload (remove_state) takes a pending confirmation with it.
    ASSERT_TRUE(rt::write_pending(p).ok());
    ASSERT_TRUE(rt::remove_state(p.iface).ok());
    EXPECT_FALSE(std::filesystem::exists(rt::state_dir(p.iface)));
    std::filesystem::remove_all(dir);
    unsetenv("SECPOL_RUN_DIR");
}

// A's rule 1 has no continuation in B: its totals are recorded; rule 0 continues.
TEST(Confirm, RestoreEntriesAreTheRetiredRules) {
    auto a = rules({{"web", "permit proto tcp from any to me port 80 \"web\""},
                    {"dns", "permit proto udp from any to me port 53 \"dns\""}});
    auto b = rules({{"web", "permit proto tcp from any to me port 80 \"web\""},
                    {"no-dns", "block proto udp from any to me port 53 \"no-dns\""}});
    rt::Slots totals(rt::slot_count(2));
    totals[rt::rule_slot(0, 0, 0)] = {7, 700};
    totals[rt::rule_slot(1, 0, 0)] = {5, 500};
    totals[rt::rule_slot(1, 1, 0)] = {2, 200};
    auto r = rt::restore_entries(a, totals, b);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0]["id"], 1);
    EXPECT_EQ(r[0]["slots"][0], json::array({5, 500}));
    EXPECT_EQ(r[0]["slots"][3], json::array({2, 200}));

    // The revert B -> A: carry-over (web continues), then A's dns gets its 5/2 back from retired.
    rt::Slots b_totals(rt::slot_count(2));
    b_totals[rt::rule_slot(0, 0, 0)] = {9, 900};    // web: 7 carried + 2
    b_totals[rt::rule_slot(1, 0, 1)] = {3, 300};    // no-dns blocked 3
    rt::Count b_retired[2] = {{5, 500}, {2, 200}};  // dns, retired by the swap to B
    auto off = rt::carry_over(b, b_totals, b_retired, a);
    rt::Count given[2];
    rt::apply_restore(off, b, a, r, given);
    EXPECT_EQ(given[0], (rt::Count{5, 500}));
    EXPECT_EQ(given[1], (rt::Count{2, 200}));
    EXPECT_EQ(off.slots[rt::rule_slot(0, 0, 0)], (rt::Count{9, 900}));
    EXPECT_EQ(off.slots[rt::rule_slot(1, 0, 0)], (rt::Count{5, 500}));
    EXPECT_EQ(off.slots[rt::rule_slot(1, 1, 0)], (rt::Count{2, 200}));
    EXPECT_EQ(off.retired[0], (rt::Count{3, 300}));  // no-dns's 3 blocked stay retired
    EXPECT_EQ(off.retired[1], (rt::Count{0, 0}));
}

TEST(Confirm, RestoreSkippedAfterAResetAndForContinuedRules) {
    auto a = rules({{"dns", "permit proto udp from any to me port 53 \"dns\""}});
    auto b = rules({{"other", "block proto tcp from any to me port 1 \"other\""}});
    json r = json::array(
        {{{"id", 0}, {"slots", json::array({{5, 500}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}})}}});
    rt::Slots b_totals(rt::slot_count(1));
    rt::Count zero[2] = {};  // counters --reset since: retired is 0
    auto off = rt::carry_over(b, b_totals, zero, a);
    rt::Count given[2];
    rt::apply_restore(off, b, a, r, given);
    EXPECT_EQ(given[0], (rt::Count{}));
    EXPECT_EQ(off.slots[rt::rule_slot(0, 0, 0)], (rt::Count{}));

    // A rule that the revert's carry-over continues already has its counts (a later swap put it back).
    auto b2 = rules({{"dns", "permit proto udp from any to me port 53 \"dns\""}});
    rt::Slots b2_totals(rt::slot_count(1));
    b2_totals[rt::rule_slot(0, 0, 0)] = {1, 100};
    rt::Count ret[2] = {{5, 500}, {}};
    auto off2 = rt::carry_over(b2, b2_totals, ret, a);
    rt::apply_restore(off2, b2, a, r, given);
    EXPECT_EQ(given[0], (rt::Count{}));
    EXPECT_EQ(off2.slots[rt::rule_slot(0, 0, 0)], (rt::Count{1, 100}));
    EXPECT_EQ(off2.retired[0], (rt::Count{5, 500}));
}

TEST(Confirm, TokensDiffer) {
    auto t = rt::new_token();
    EXPECT_EQ(t.size(), 16u);
    EXPECT_NE(t, rt::new_token());
}
