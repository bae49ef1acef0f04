// The contract between a compiled object and the loader: what the object's
// SECPOL_SEC_META section holds, as a typed struct. The section is JSON so
// tools can read it; `format` is bumped whenever a field the loader relies on
// changes, and the loader refuses an object of any other format with both
// versions named (an object is rebuilt from its policy, never migrated).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "log_event.h"
#include "result.h"
#include "secpol_abi.h"

namespace secpol::backend {

// 1: the untyped JSON of the first objects ("format": "secpol-object-1").
// 2: this struct, "format_version" in the JSON.
// 3: the generated code of the egress programs in its own section
//    (SECPOL_SEC_CODE_OUT); a version-2 reader would run the ingress body there.
// 4: the generated code returns the rule's packed decision (secpol_abi.h
//    SECPOL_PK_*), not its id; a version-3 program would count and decide a
//    version-4 body's packed values as rule ids, and a version-4 program would
//    read a version-3 body's rule ids as packed decisions.
// 5: the packed decision holds the rule's first counter slot, not its id
//    (secpol_abi.h secpol_pack_rule); a version-4 body's values would count
//    every hit in another rule's slots.
inline constexpr uint32_t kObjectFormat = 5;

// A `log` clause: at most `rate` events per `period` seconds, bursts of
// `burst` (ir::LogSpec). The loader writes it into the rule's token bucket.
struct LogMeta {
    uint32_t rate = 0;
    uint32_t period = 1;
    uint32_t burst = 0;
    nlohmann::json to_json() const;
    static LogMeta from_json(const nlohmann::json& j);
    uint64_t interval_ns() const { return rate ? uint64_t{period} * 1000000000ull / rate : 0; }
    std::string str() const;  // "10/s burst 10"
};

struct RuleMeta {
    uint32_t id = 0;
    std::string label;
    uint32_t line = 0, column = 0;
    std::string action;       // permit | block | secure
    std::string action_name;  // the named negotiation action, if any
    bool accept_clear = false, fallback_clear = false;
    std::string dir;  // in | out | both
    bool mirrored = false, tunnel = false;
    std::string text;            // the filter's source text
    std::optional<LogMeta> log;  // `log` clause (abi.flags has SECPOL_RULE_LOG)
    secpol_rule abi{};           // what the loader writes into the rule map
};

struct PolicyMeta {
    std::string label, file;
    std::vector<std::string> exemptions;  // names of the enabled exemptions
    std::string exemptions_profile;       // as written after `exemptions`
    std::string order;                    // first-match | specificity
    std::string default_action;           // permit | block
    std::optional<LogMeta> default_log;   // `default ACTION log ...`
    uint32_t default_line = 0;            // the `default` statement (0: not written)
};

struct ObjectMeta {
    uint32_t format = kObjectFormat;
    PolicyMeta policy;
    secpol_config config{};       // the program's .rodata.cfg
    std::vector<RuleMeta> rules;  // one per rule id, config.nrules of them
    uint64_t filters = 0;
    uint64_t tree_nodes = 0;
    uint32_t tree_max_steps = 0;
    nlohmann::json walker;  // null, or {"form", "reason", "insns", ...} (compile.h walker_json)
    std::string source;     // the policy text

    // Rules described only by their ABI part (hand-built programs in tests).
    static ObjectMeta bare(const secpol_config& cfg, const std::vector<secpol_rule>& rules);

    std::vector<secpol_rule> abi_rules() const;
    // The token buckets of the log rate map: one per rule, then the
    // default's (nrules + 1); slots that do not log are all zero.
    std::vector<secpol_log_bucket> log_buckets() const;
    bool has_log() const { return config.flags & SECPOL_CFG_LOG; }
    nlohmann::json to_json() const;
    // to_json().dump(), written directly: the rules' objects are never built
    // as JSON values (at 10,000 rules that tree cost 13 % of a compile).
    // Without the source: byte for byte to_json() with "source" erased,
    // dumped (keys sorted in the rules too): what a loaded interface keeps
    // as meta.json, its source going to policy.pol.
    std::string dump(bool with_source = true) const;
    // Refuses another format version, naming both, and any missing field the
    // loader needs.
    static Result<ObjectMeta> from_json(const nlohmann::json& j);

  private:
    nlohmann::json head() const;  // everything but "rules"
};

// Name of a SECPOL_ACT_* value.
const char* abi_action_name(uint32_t action);

}  // namespace secpol::backend
