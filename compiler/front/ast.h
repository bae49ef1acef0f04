// Syntax tree of a policy file: what the parser saw, names not yet resolved.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ir/ir.h"

namespace secpol::front::ast {

// One member of an address or port list, or of a set.
struct Item {
    enum class Kind : uint8_t { Any, Me, Address, Number, Range, SetRef } kind = Kind::Any;
    std::string text;         // address text, or set name for SetRef
    uint64_t lo = 0, hi = 0;  // Number / Range
    ir::SourceLoc loc;
};

// An address or port operand: a single item, a comma list (ports) or a { } list.
struct ItemList {
    std::vector<Item> items;
    ir::SourceLoc loc;
};

struct PolicyStmt {
    std::string label;
};

struct ExemptionsStmt {
    enum class Kind : uint8_t {
        Windows2000,
        Windows2003,
        None,
        NoDefaultExempt,
        List
    } kind = Kind::Windows2000;
    uint64_t level = 0;  // NoDefaultExempt
    ir::SourceLoc level_loc;
    std::vector<std::pair<std::string, ir::SourceLoc>> names;  // List
};

struct OrderStmt {
    ir::Order order = ir::Order::Specificity;
};

// `log [rate N/s|N/min] [burst B]` as written; resolve checks the values.
struct LogClause {
    ir::SourceLoc loc;  // the `log` word
    std::optional<uint64_t> rate;
    uint32_t period = 1;  // seconds: 1 or 60
    ir::SourceLoc rate_loc;
    std::optional<uint64_t> burst;
    ir::SourceLoc burst_loc;
};

struct DefaultStmt {
    ir::Action action = ir::Action::Permit;
    std::optional<LogClause> log;
};

// `non-ip permit|block`
struct NonIpStmt {
    ir::Action action = ir::Action::Permit;
};

struct SetStmt {
    std::string name;
    ir::SourceLoc name_loc;
    ItemList members;
};

// A negotiation attribute of a secure action (`auth psk "f"`, `esp a,b`,
// `lifetime 1h`, `nat-t`), as written; resolve checks the values.
struct ActionAttr {
    std::string key;
    ir::SourceLoc loc;
    struct Value {
        std::string text;
        bool quoted = false;  // a "string"
        ir::SourceLoc loc;
    };
    std::vector<Value> values;
};

struct ActionStmt {
    std::string name;
    ir::SourceLoc name_loc;
    ir::ActionSpec spec;  // spec.name is set to `name`
    std::vector<ActionAttr> attrs;
};

struct FilterStmt {
    // Either a built-in action (inline_action) or a reference to a named one.
    bool inline_action = true;
    ir::ActionSpec action;
    std::string action_ref;
    ir::SourceLoc action_loc;

    ir::Dir dir = ir::Dir::Both;
    std::optional<Item> proto;  // Word (name) stored as Address kind text, or Number
    std::optional<Item> icmp_type, icmp_code;
    ItemList src, dst;
    std::optional<ItemList> sport, dport;
    bool mirrored = false;
    std::optional<Item> tunnel;
    std::optional<LogClause> log;
    std::optional<std::string> label;
    ir::SourceLoc label_loc;
    std::string text;  // the statement as written
};

using StmtBody = std::variant<PolicyStmt, ExemptionsStmt, OrderStmt, DefaultStmt, NonIpStmt, SetStmt,
                              ActionStmt, FilterStmt>;

struct Stmt {
    ir::SourceLoc loc;  // first token
    StmtBody body;
};

struct File {
    std::string path;
    std::vector<Stmt> stmts;
    // Sets and actions whose definition had a syntax error: their uses are
    // not reported again as unknown names.
    std::vector<std::string> broken_sets, broken_actions;
};

}  // namespace secpol::front::ast
