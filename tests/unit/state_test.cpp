// The runtime's state file: round trip, atomic write/read, listing, removal.
#include "runtime/state.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace rt = secpol::rt;

namespace {

rt::IfaceState sample() {
    rt::IfaceState s;
    s.iface = "veth-u0";
    s.ifindex = 7;
    s.netns = 4026531840u;
    s.label = "unit";
    s.policy_file = "/tmp/p.pol";
    s.loaded_at = 1700000000;
    s.generation = 3;
    s.xdp_mode = "native";
    s.xdp_link_id = 11;
    s.ingress_prog_id = 12;
    s.egress_prog_id = 13;
    s.tc_handle = 0x5ec;
    s.tc_priority = 1;
    s.created_clsact = true;
    s.nrules = 2;
    s.meta = {{"rules", {{{"id", 0}, {"label", "a"}}, {{"id", 1}, {"label", "b"}}}},
              {"source", "policy \"unit\"\n"}};
    s.offsets.slots.resize(rt::slot_count(2));
    s.offsets.slots[rt::rule_slot(1, 0, 1)] = {5, 500};
    s.offsets.slots[3] = {-2, -100};
    s.offsets.retired[1] = {9, 900};
    return s;
}

}  // namespace

TEST(State, JsonRoundTrip) {
    auto s = sample();
    auto back = rt::IfaceState::from_json(s.to_json());
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->to_json(), s.to_json());
    EXPECT_EQ(back->offsets.slots[rt::rule_slot(1, 0, 1)], (rt::Count{5, 500}));
    EXPECT_EQ(back->offsets.slots[3], (rt::Count{-2, -100}));
    EXPECT_EQ(back->offsets.retired[1], (rt::Count{9, 900}));
    EXPECT_TRUE(back->created_clsact);
}

TEST(State, RejectsUnknownFormat) {
    auto j = sample().to_json();
    j["format"] = "something-else";
    EXPECT_FALSE(rt::IfaceState::from_json(j).ok());
}

TEST(State, WriteReadListRemove) {
    auto dir = std::filesystem::temp_directory_path() / ("secpol-state-test-" + std::to_string(getpid()));
    setenv("SECPOL_RUN_DIR", dir.c_str(), 1);
    auto s = sample();
    ASSERT_TRUE(rt::write_state(s).ok());
    EXPECT_TRUE(std::filesystem::exists(dir / "veth-u0" / "policy.pol"));
    auto r = rt::read_state("veth-u0");
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ((*r)->label, "unit");
    EXPECT_EQ(rt::list_state_ifaces(), std::vector<std::string>{"veth-u0"});
    ASSERT_TRUE(rt::remove_state("veth-u0").ok());
    auto gone = rt::read_state("veth-u0");
    ASSERT_TRUE(gone.ok());
    EXPECT_FALSE(gone->has_value());
    EXPECT_TRUE(rt::remove_state("veth-u0").ok());  // idempotent
    std::filesystem::remove_all(dir);
    unsetenv("SECPOL_RUN_DIR");
}

namespace {
std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

// A load writes meta.json and policy.pol from their bytes (no DOM): the
// same files the DOM wrote; a swap reads them back unparsed
// (load_meta_text) and its rollback writes them again unchanged.
TEST(State, MetaBytesAreWrittenAndReadBackAsTheyAre) {
    auto dir = std::filesystem::temp_directory_path() / ("secpol-state-text-" + std::to_string(getpid()));
    setenv("SECPOL_RUN_DIR", dir.c_str(), 1);
    auto dom = sample();  // meta as a DOM, source in it
    ASSERT_TRUE(rt::write_state(dom).ok());
    const std::string meta_dom = slurp(dir / "veth-u0" / "meta.json");
    const std::string pol_dom = slurp(dir / "veth-u0" / "policy.pol");
    EXPECT_EQ(pol_dom, "policy \"unit\"\n");

    auto text = sample();
    nlohmann::json m = text.meta;
    m.erase("source");
    text.meta = nlohmann::json();
    text.meta_text = m.dump() + "\n";
    text.source = "policy \"unit\"\n";
    text.has_source = true;
    ASSERT_TRUE(rt::remove_state("veth-u0").ok());
    ASSERT_TRUE(rt::write_state(text).ok());
    EXPECT_EQ(slurp(dir / "veth-u0" / "meta.json"), meta_dom);
    EXPECT_EQ(slurp(dir / "veth-u0" / "policy.pol"), pol_dom);

    auto back = rt::read_state("veth-u0");
    ASSERT_TRUE(back.ok() && back->has_value());
    rt::IfaceState old = **back;
    ASSERT_TRUE(rt::load_meta_text(old).ok());
    EXPECT_EQ(old.meta_text, meta_dom);
    EXPECT_TRUE(old.has_source);
    EXPECT_EQ(old.source, pol_dom);
    // Overwritten (a swap), then put back (its rollback).
    auto other = text;
    other.meta_text = "{\"rules\":[]}\n";
    other.source = "policy \"other\"\n";
    ASSERT_TRUE(rt::write_state(other).ok());
    ASSERT_TRUE(rt::write_state(old).ok());
    EXPECT_EQ(slurp(dir / "veth-u0" / "meta.json"), meta_dom);
    EXPECT_EQ(slurp(dir / "veth-u0" / "policy.pol"), pol_dom);

    // No policy.pol: none read, none written back.
    ASSERT_TRUE(rt::remove_state("veth-u0").ok());
    text.has_source = false;
    ASSERT_TRUE(rt::write_state(text).ok());
    rt::IfaceState bare = text;
    bare.meta_text.clear();
    bare.source = "stale";
    ASSERT_TRUE(rt::load_meta_text(bare).ok());
    EXPECT_FALSE(bare.has_source);
    EXPECT_EQ(bare.source, "");
    EXPECT_FALSE(std::filesystem::exists(dir / "veth-u0" / "policy.pol"));
    std::filesystem::remove_all(dir);
    unsetenv("SECPOL_RUN_DIR");
}

TEST(State, FormatTime) {
    EXPECT_EQ(rt::format_time(0), "1970-01-01T00:00:00Z");
}
