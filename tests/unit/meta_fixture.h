// A loaded policy whose meta has every kind of field the read commands meet:
// all keys of a compiled rule (log included), an old rule without
// action_name/text/column, numbers given as float and bool, labels and
// text that need escaping (quotes, backslash, control characters, UTF-8),
// an empty label and text, and one rule more in nrules than in the meta.
// Shared by the tests of the DOM renderers and the streamed ones, which
// must agree byte for byte.
#pragma once

#include <nlohmann/json.hpp>

#include "runtime/counters.h"
#include "runtime/state.h"

namespace secpol::testing {

inline nlohmann::json every_kind_meta() {
    using nlohmann::json;
    json full = {{"id", 0},
                 {"label", "web \"front\" \\ tier\twith a label longer than the column"},
                 {"line", 12},
                 {"column", 3},
                 {"action", "secure"},
                 {"action_name", "require"},
                 {"accept_clear", false},
                 {"fallback_clear", true},
                 {"dir", "in"},
                 {"mirrored", true},
                 {"tunnel", false},
                 {"text", "require proto tcp from any to me port 443 \"web \\\"front\\\"\" # é ✓"},
                 {"abi_action", 2},
                 {"abi_flags", 3},
                 {"log", {{"rate", 5}, {"period", 1}, {"burst", 10}}}};
    json old = {{"id", 1}, {"label", "old"}, {"line", 13}, {"action", "block"}};
    json kinds = {{"id", 2},
                  {"label", std::string("ctl\x01\x1f\x7f") + "\n" + "end"},
                  {"line", 14.0},
                  {"column", true},
                  {"action", "permit"},
                  {"action_name", "permit"},
                  {"text", ""},
                  {"log", nullptr}};
    json bare = {{"id", 3}, {"label", ""}, {"action", "permit"}, {"text", "permit from any to any"}};
    return {{"format_version", 4},
            {"policy",
             {{"label", "kinds"},
              {"file", "/etc/secpol/k.pol"},
              {"exemptions", {"ike", "kerberos", 7, "no-such"}},
              {"exemptions_profile", "windows2000"},
              {"order", "first-match"},
              {"default", "block"},
              {"default_log", {{"rate", 1}, {"period", 60}, {"burst", 2}}},
              {"default_line", 9}}},
            {"config", {{"exemptions", 5}, {"default_action", 1}, {"flags", 0}, {"nrules", 4}}},
            {"filters", 4},
            {"tree", {{"nodes", 9}, {"max_steps", 4}}},
            {"walker", {{"form", "node-array"}}},
            {"rules", json::array({full, old, kinds, bare})}};
}

// A state of that meta with nrules 5 (rule 4 has no meta row) and counts
// in rules, exemptions (one the policy does not enable), the special rows
// and retired.
inline rt::IfaceState every_kind_state() {
    rt::IfaceState s;
    s.iface = "eth7";
    s.label = "kinds \"q\"";
    s.policy_file = "/etc/secpol/k.pol";
    s.loaded_at = 1700000000;
    s.replaced_at = 1700000500;
    s.locals_changed_at = 1700000600;
    s.generation = 3;
    s.xdp_mode = "generic";
    s.xdp_link_id = 4;
    s.ingress_prog_id = 40;
    s.egress_prog_id = 41;
    s.tc_handle = 0x5ec;
    s.tc_priority = 1;
    s.nrules = 5;
    s.local_addresses = {"10.0.0.1", "fe80::1"};
    s.local_broadcasts = {"10.0.0.255"};
    s.meta = every_kind_meta();
    s.offsets.retired[0] = {3, 300};
    return s;
}

inline rt::Slots every_kind_counts() {
    rt::Slots t(rt::slot_count(5));
    t[rt::rule_slot(0, SECPOL_DIR_IN, SECPOL_RV_PERMIT)] = {12, 1200};
    t[rt::rule_slot(0, SECPOL_DIR_OUT, SECPOL_RV_PROTECTED)] = {5, 700};
    t[rt::rule_slot(2, SECPOL_DIR_IN, SECPOL_RV_BLOCK)] = {1234567890123, 9876543210987654};
    t[rt::rule_slot(4, SECPOL_DIR_OUT, SECPOL_RV_BLOCK)] = {2, 80};
    t[rt::special_slot(SECPOL_CNT_EXEMPT + unsigned{SECPOL_EX_IKE}, SECPOL_DIR_IN)] = {2, 222};
    t[rt::special_slot(SECPOL_CNT_EXEMPT + unsigned{SECPOL_EX_MULTICAST}, SECPOL_DIR_OUT)] = {1, 60};
    t[rt::special_slot(SECPOL_CNT_DEFAULT, SECPOL_DIR_IN)] = {7, 700};
    t[rt::special_slot(SECPOL_CNT_MALFORMED, SECPOL_DIR_IN)] = {1, 20};
    t[rt::special_slot(SECPOL_CNT_FRAGMENT, SECPOL_DIR_OUT)] = {4, 4000};
    t[rt::special_slot(SECPOL_CNT_NONIP, SECPOL_DIR_IN)] = {6, 360};
    t[rt::special_slot(SECPOL_CNT_IPSEC, SECPOL_DIR_OUT)] = {5, 700};
    return t;
}

}  // namespace secpol::testing
