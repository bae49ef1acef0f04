#include "front/parser.h"

#include <algorithm>
#include <array>

namespace secpol::front {
namespace {

constexpr std::array kStatementWords = {"policy", "exemptions", "order",  "default", "non-ip",
                                        "set",    "action",     "permit", "block",   "secure"};
constexpr std::array kReserved = {
    "policy", "exemptions", "order",    "default", "non-ip", "set",  "action",       "permit",
    "block",  "secure",     "in",       "out",     "proto",  "type", "code",         "from",
    "to",     "port",       "mirrored", "tunnel",  "any",    "me",   "accept-clear", "fallback-clear"};

bool is_statement_word(const std::string& w) {
    for (const char* k : kStatementWords)
        if (w == k) return true;
    return false;
}

// Thrown only inside the parser to abandon the current statement; never escapes parse().
struct StatementError {};

class Parser {
  public:
    Parser(std::string_view text, const std::string& file, Diagnostics& diags)
        : text_(text), file_(file), diags_(diags), toks_(lex(text, file, diags)) {}

    ast::File run() {
        ast::File f;
        f.path = file_;
        while (true) {
            while (at(Tok::Newline)) ++i_;
            if (at(Tok::End)) break;
            if (diags_.full()) {
                diags_.stop(loc(cur()));
                break;
            }
            size_t start = i_;
            pending_set_.clear();
            pending_action_.clear();
            try {
                ast::Stmt st;
                st.loc = loc(cur());
                statement(st);
                end_of_statement();
                f.stmts.push_back(std::move(st));
            } catch (const StatementError&) {
                if (!pending_set_.empty()) f.broken_sets.push_back(pending_set_);
                if (!pending_action_.empty()) f.broken_actions.push_back(pending_action_);
                recover(start);
            }
        }
        return f;
    }

  private:
    const Token& cur() const { return toks_[i_]; }
    const Token& peek(size_t k = 1) const { return toks_[std::min(i_ + k, toks_.size() - 1)]; }
    bool at(Tok k) const { return cur().kind == k; }
    bool at_word(const char* w) const { return cur().kind == Tok::Word && cur().text == w; }
    ir::SourceLoc loc(const Token& t) const { return {file_, t.line, t.col}; }
    void next() {
        if (!at(Tok::End)) ++i_;
    }

    std::string describe(const Token& t) const {
        switch (t.kind) {
            case Tok::Newline:
            case Tok::End:
            case Tok::LBrace:
            case Tok::RBrace:
            case Tok::Comma:
            case Tok::Equals:
                return to_string(t.kind);
            case Tok::String:
                return "string \"" + t.text + "\"";
            case Tok::Var:
                return "'$" + t.text + "'";
            default:
                return "'" + std::string(text_.substr(t.begin, t.end - t.begin)) + "'";
        }
    }

    [[noreturn]] void fail(const Token& at_tok, std::string msg) {
        // An Error token was already reported by the lexer; say nothing more.
        if (at_tok.kind != Tok::Error) diags_.error(loc(at_tok), std::move(msg));
        throw StatementError{};
    }
    // The docs promise each clause at most once; silently letting the last win hides typos.
    [[noreturn]] void given_twice() {
        fail(cur(), "'" + cur().text + "' given twice; each clause may appear at most once");
    }
    [[noreturn]] void fail_expected(const std::string& what) {
        fail(cur(), "expected " + what + ", found " + describe(cur()));
    }

    // `permit` or `block` after a statement's keyword, consumed.
    ir::Action permit_or_block(const char* stmt) {
        ir::Action a = ir::Action::Permit;
        if (at_word("block"))
            a = ir::Action::Block;
        else if (!at_word("permit"))
            fail_expected(std::string("'permit' or 'block' after '") + stmt + "'");
        next();
        return a;
    }

    // Skips the rest of a broken statement. A '{' left open swallows lines
    // only until a line that starts with a statement keyword.
    void recover(size_t start) {
        int depth = 0;
        for (size_t k = start; k < i_; ++k) {
            if (toks_[k].kind == Tok::LBrace) ++depth;
            if (toks_[k].kind == Tok::RBrace && depth > 0) --depth;
        }
        // The mistake may be a statement that a broken list ran into: resume there.
        if (i_ > start && at(Tok::Word) && is_statement_word(cur().text) &&
            toks_[i_ - 1].kind == Tok::Newline)
            return;
        while (!at(Tok::End)) {
            if (at(Tok::LBrace)) ++depth;
            if (at(Tok::RBrace) && depth > 0) --depth;
            if (at(Tok::Newline)) {
                if (depth == 0) break;
                const Token& n = peek();
                if (n.kind == Tok::Word && is_statement_word(n.text)) break;
            }
            next();
        }
    }

    void end_of_statement() {
        if (at(Tok::Newline) || at(Tok::End)) return;
        fail(cur(), "unexpected " + describe(cur()) + " at the end of the statement");
    }

    void skip_newlines() {
        while (at(Tok::Newline)) next();
    }

    std::string word(const std::string& what) {
        if (!at(Tok::Word)) fail_expected(what);
        std::string w = cur().text;
        next();
        return w;
    }

    void statement(ast::Stmt& st) {
        if (!at(Tok::Word)) {
            if (at(Tok::Error)) fail(cur(), "");
            fail(cur(),
                 "expected a statement (policy, exemptions, order, default, non-ip, set, action or a "
                 "filter), found " +
                     describe(cur()));
        }
        const std::string w = cur().text;
        if (w == "policy") {
            next();
            if (!at(Tok::String)) fail_expected("a quoted label after 'policy'");
            st.body = ast::PolicyStmt{cur().text};
            next();
        } else if (w == "exemptions") {
            next();
            st.body = exemptions();
        } else if (w == "order") {
            next();
            ast::OrderStmt o;
            if (at_word("specificity"))
                o.order = ir::Order::Specificity;
            else if (at_word("first-match"))
                o.order = ir::Order::FirstMatch;
            else
                fail_expected("'specificity' or 'first-match' after 'order'");
            next();
            st.body = o;
        } else if (w == "default") {
            next();
            ast::DefaultStmt d;
            d.action = permit_or_block("default");
            if (at_word("log")) d.log = log_clause();
            st.body = d;
        } else if (w == "non-ip") {
            next();
            ast::NonIpStmt d;
            d.action = permit_or_block("non-ip");
            st.body = d;
        } else if (w == "set") {
            next();
            st.body = set();
        } else if (w == "action") {
            next();
            st.body = action();
        } else if (w == "permit" || w == "block" || w == "secure") {
            st.body = filter(st.loc);
        } else {
            const Token& n = peek();
            bool filter_next = n.kind == Tok::Word &&
                               (n.text == "in" || n.text == "out" || n.text == "proto" || n.text == "from");
            if (!filter_next)
                fail(
                    cur(),
                    "unknown statement '" + w +
                        "' (expected policy, exemptions, order, default, non-ip, set, action, permit, block, "
                        "secure or a named action)");
            st.body = filter(st.loc);
        }
    }

    ast::ExemptionsStmt exemptions() {
        ast::ExemptionsStmt e;
        if (at_word("windows2000")) {
            e.kind = ast::ExemptionsStmt::Kind::Windows2000;
        } else if (at_word("windows2003")) {
            e.kind = ast::ExemptionsStmt::Kind::Windows2003;
        } else if (at_word("none")) {
            e.kind = ast::ExemptionsStmt::Kind::None;
        } else if (at_word("nodefaultexempt")) {
            e.kind = ast::ExemptionsStmt::Kind::NoDefaultExempt;
            next();
            if (!at(Tok::Number)) fail_expected("a value 0..3 after 'nodefaultexempt'");
            e.level = cur().lo;
            e.level_loc = loc(cur());
        } else if (at(Tok::LBrace)) {
            e.kind = ast::ExemptionsStmt::Kind::List;
            next();
            while (true) {
                skip_newlines();
                if (at(Tok::RBrace)) break;
                if (at(Tok::Comma)) {
                    next();
                    continue;
                }
                if (!at(Tok::Word)) fail_expected("an exemption name or '}'");
                e.names.emplace_back(cur().text, loc(cur()));
                next();
            }
        } else if (at(Tok::Word)) {
            fail(cur(), "unknown exemption profile '" + cur().text +
                            "' (expected windows2000, windows2003, none, nodefaultexempt N or { names })");
        } else {
            fail_expected(
                "an exemption profile (windows2000, windows2003, none, nodefaultexempt N or { names })");
        }
        next();
        return e;
    }

    std::string name_after(const char* stmt) {
        if (!at(Tok::Word)) fail_expected(std::string("a name after '") + stmt + "'");
        std::string n = cur().text;
        if (is_reserved_word(n)) fail(cur(), "'" + n + "' is a reserved word and cannot name a " + stmt);
        return n;
    }

    ast::SetStmt set() {
        ast::SetStmt s;
        s.name = name_after("set");
        pending_set_ = s.name;
        s.name_loc = loc(cur());
        next();
        if (!at(Tok::Equals)) fail_expected("'=' after the set name");
        next();
        s.members = operand(/*ports=*/false, "a '{ ... }' list of addresses or ports");
        return s;
    }

    ir::ActionSpec action_spec(const std::string& name) {
        ir::ActionSpec a;
        if (at_word("permit"))
            a.kind = ir::Action::Permit;
        else if (at_word("block"))
            a.kind = ir::Action::Block;
        else if (at_word("secure"))
            a.kind = ir::Action::Secure;
        else
            fail_expected("'permit', 'block' or 'secure'");
        a.name = name.empty() ? cur().text : name;
        next();
        while (at_word("accept-clear") || at_word("fallback-clear")) {
            if (a.kind != ir::Action::Secure)
                fail(cur(), "'" + cur().text + "' only applies to 'secure' (negotiate security)");
            bool& flag = cur().text == "accept-clear" ? a.accept_clear : a.fallback_clear;
            if (flag) given_twice();
            flag = true;
            next();
        }
        return a;
    }

    ast::ActionStmt action() {
        ast::ActionStmt a;
        a.name = name_after("action");
        pending_action_ = a.name;
        a.name_loc = loc(cur());
        next();
        if (!at(Tok::Equals)) fail_expected("'=' after the action name");
        next();
        a.spec = action_spec(a.name);
        action_attrs(a);
        return a;
    }

    // Negotiation attributes after `secure` in an action definition. The
    // values are checked by resolve; here only their shape: `auth METHOD
    // ["file"]`, `esp|ah|ike [P[,P...]]`, `lifetime|ike-lifetime|lifetime-kbytes
    // V`, `ike-version V`, `nat-t`.
    void action_attrs(ast::ActionStmt& a) {
        static constexpr std::array kKeys = {
            "auth",        "esp",  "ah", "ike", "lifetime", "ike-lifetime", "lifetime-kbytes",
            "ike-version", "nat-t"};
        while (at(Tok::Word)) {
            const std::string key = cur().text;
            if (key == "accept-clear" || key == "fallback-clear") {
                if (cur().text == "accept-clear")
                    a.spec.accept_clear = true;
                else
                    a.spec.fallback_clear = true;
                next();
                continue;
            }
            if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end())
                fail(cur(), "unknown action attribute '" + key +
                                "' (expected accept-clear, fallback-clear, auth, esp, ah, ike, lifetime, "
                                "lifetime-kbytes, ike-lifetime, ike-version or nat-t)");
            if (a.spec.kind != ir::Action::Secure)
                fail(cur(), "'" + key + "' only applies to 'secure' (negotiate security)");
            ast::ActionAttr attr;
            attr.key = key;
            attr.loc = loc(cur());
            next();
            auto value = [&](bool quoted) {
                attr.values.push_back({cur().text, quoted, loc(cur())});
                next();
            };
            auto plain = [&] { return at(Tok::Word) || at(Tok::Number) || at(Tok::Address); };
            if (key == "auth") {
                if (!at(Tok::Word)) fail_expected("an authentication method (psk, pubkey, cert or kerberos)");
                value(false);
                if (at(Tok::String))
                    value(true);
                else if (attr.values[0].text == "psk" &&
                         (at(Tok::Word) || at(Tok::Address) || at(Tok::Number)))
                    fail(cur(),
                         "'auth psk' takes the name of the file that holds the key, as a \"string\"; "
                         "the key itself never goes into the policy");
            } else if (key == "esp" || key == "ah" || key == "ike") {
                // Without proposals: the defaults (docs/policy-language.md).
                if (!plain()) {
                    a.attrs.push_back(std::move(attr));
                    continue;
                }
                value(false);
                while (at(Tok::Comma)) {
                    next();
                    if (!plain()) fail_expected("a proposal after ','");
                    value(false);
                }
            } else if (key != "nat-t") {
                if (!plain()) fail_expected("a value after '" + key + "'");
                value(false);
            }
            a.attrs.push_back(std::move(attr));
        }
    }

    ast::Item item_from_token() {
        ast::Item it;
        it.loc = loc(cur());
        const Token& t = cur();
        switch (t.kind) {
            case Tok::Word:
                if (t.text == "any")
                    it.kind = ast::Item::Kind::Any;
                else if (t.text == "me")
                    it.kind = ast::Item::Kind::Me;
                else
                    it.kind = ast::Item::Kind::Address, it.text = t.text;
                break;
            case Tok::Address:
                it.kind = ast::Item::Kind::Address, it.text = t.text;
                break;
            case Tok::Number:
                it.kind = ast::Item::Kind::Number, it.lo = it.hi = t.lo, it.text = t.text;
                break;
            case Tok::Range:
                it.kind = ast::Item::Kind::Range, it.lo = t.lo, it.hi = t.hi, it.text = t.text;
                break;
            case Tok::Var:
                it.kind = ast::Item::Kind::SetRef, it.text = t.text;
                break;
            default:
                fail_expected("an address, a port or '$set'");
        }
        next();
        return it;
    }

    static bool item_token(Tok k) {
        return k == Tok::Word || k == Tok::Address || k == Tok::Number || k == Tok::Range || k == Tok::Var;
    }

    // A single item, a '{ }' list (commas optional, may span lines) or, for
    // ports, a comma list.
    ast::ItemList operand(bool ports, const std::string& what) {
        ast::ItemList l;
        l.loc = loc(cur());
        if (at(Tok::LBrace)) {
            next();
            while (true) {
                skip_newlines();
                if (at(Tok::RBrace)) break;
                if (at(Tok::Comma)) {
                    next();
                    continue;
                }
                if (at(Tok::End))
                    fail(toks_[i_],
                         "missing '}' to close the list opened at line " + std::to_string(l.loc.line));
                if (!item_token(cur().kind) || (cur().kind == Tok::Word && is_statement_word(cur().text)))
                    fail(cur(), "expected a list member or '}', found " + describe(cur()) +
                                    " (missing '}' for the list opened at line " +
                                    std::to_string(l.loc.line) + "?)");
                l.items.push_back(item_from_token());
            }
            next();
            if (l.items.empty()) fail(toks_[i_ - 1], "empty list");
            return l;
        }
        if (!item_token(cur().kind) || (cur().kind == Tok::Word && is_reserved_word(cur().text) &&
                                        cur().text != "any" && cur().text != "me"))
            fail_expected(what);
        l.items.push_back(item_from_token());
        while (ports && at(Tok::Comma)) {
            next();
            if (!item_token(cur().kind)) fail_expected("a port after ','");
            l.items.push_back(item_from_token());
        }
        return l;
    }

    // `log [rate N/s|N/min] [burst B]` (cur() is `log`). The numbers are
    // checked by resolve; here only the shape.
    ast::LogClause log_clause() {
        ast::LogClause l;
        l.loc = loc(cur());
        next();
        while (at_word("rate") || at_word("burst")) {
            const bool rate = cur().text == "rate";
            if (rate ? l.rate.has_value() : l.burst.has_value()) given_twice();
            next();
            if (rate) {
                l.rate_loc = loc(cur());
                l.rate = rate_value(l.period);
            } else {
                if (!at(Tok::Number)) fail_expected("a number of events after 'burst'");
                l.burst_loc = loc(cur());
                l.burst = cur().lo;
                next();
            }
        }
        return l;
    }

    // N/s, N/sec, N/second, N/m, N/min, N/minute: the lexer reads them as
    // one address-like token.
    uint64_t rate_value(uint32_t& period) {
        const std::string what = "a rate after 'rate' (N/s or N/min, e.g. 10/s)";
        if (!at(Tok::Address) && !at(Tok::Number)) fail_expected(what);
        const std::string t = cur().text;
        const size_t slash = t.find('/');
        if (slash == std::string::npos || slash == 0 || slash > 10)
            fail(cur(), "expected " + what + ", found " + describe(cur()));
        uint64_t n = 0;
        for (size_t i = 0; i < slash; ++i) {
            if (t[i] < '0' || t[i] > '9') fail(cur(), "expected " + what + ", found " + describe(cur()));
            n = n * 10 + static_cast<uint64_t>(t[i] - '0');
        }
        const std::string unit = t.substr(slash + 1);
        if (unit == "s" || unit == "sec" || unit == "second")
            period = 1;
        else if (unit == "m" || unit == "min" || unit == "minute")
            period = 60;
        else
            fail(cur(), "unknown rate unit '" + unit + "' (expected s or min, e.g. 10/s)");
        next();
        return n;
    }

    ast::FilterStmt filter(const ir::SourceLoc& start) {
        ast::FilterStmt f;
        size_t first = i_;
        f.action_loc = start;
        const std::string w = cur().text;
        if (w == "permit" || w == "block" || w == "secure") {
            f.action = action_spec("");
        } else {
            f.inline_action = false;
            f.action_ref = w;
            next();
        }
        if (at_word("in"))
            f.dir = ir::Dir::In, next();
        else if (at_word("out"))
            f.dir = ir::Dir::Out, next();
        if (at_word("proto")) {
            next();
            if ((!at(Tok::Word) || is_reserved_word(cur().text)) && !at(Tok::Number))
                fail_expected("a protocol name or number after 'proto'");
            f.proto = item_from_token();
        }
        if (at_word("type")) {
            next();
            if (!at(Tok::Number) && !at(Tok::Range)) fail_expected("an ICMP type (0..255) after 'type'");
            f.icmp_type = item_from_token();
            if (at_word("code")) {
                next();
                if (!at(Tok::Number) && !at(Tok::Range)) fail_expected("an ICMP code (0..255) after 'code'");
                f.icmp_code = item_from_token();
            }
        }
        if (at_word("code")) fail(cur(), "'code' must follow 'type T'");
        if (!at_word("from")) {
            if (at_word("to")) fail(cur(), "missing 'from ADDR' before 'to'");
            fail_expected("'from ADDR'");
        }
        next();
        f.src = operand(false, "a source address (any, me, a host, a prefix, $set or { list }) after 'from'");
        if (at_word("port")) {
            next();
            f.sport = operand(true, "a port, range, comma list, $set or { list } after 'port'");
        }
        if (!at_word("to")) {
            if (at(Tok::Newline) || at(Tok::End) || at(Tok::String)) fail(cur(), "missing 'to ADDR'");
            fail_expected("'to ADDR'");
        }
        next();
        f.dst =
            operand(false, "a destination address (any, me, a host, a prefix, $set or { list }) after 'to'");
        if (at_word("port")) {
            next();
            f.dport = operand(true, "a port, range, comma list, $set or { list } after 'port'");
        }
        while (!at(Tok::Newline) && !at(Tok::End)) {
            if (at_word("mirrored")) {
                if (f.mirrored) given_twice();
                f.mirrored = true;
                next();
            } else if (at_word("tunnel")) {
                if (f.tunnel) given_twice();
                next();
                if (!item_token(cur().kind))
                    fail_expected("a tunnel endpoint (a host address) after 'tunnel'");
                f.tunnel = item_from_token();
            } else if (at_word("log")) {
                if (f.log) given_twice();
                f.log = log_clause();
            } else if (at(Tok::String)) {
                if (f.label) fail(cur(), "a filter has one label; found a second one");
                f.label = cur().text;
                f.label_loc = loc(cur());
                next();
            } else {
                fail(cur(), "unexpected " + describe(cur()) +
                                "; expected 'mirrored', 'tunnel ENDPOINT', 'log' or a \"label\"");
            }
        }
        // The statement as written, whitespace and comments collapsed.
        for (size_t k = first; k < i_; ++k) {
            const Token& t = toks_[k];
            if (t.kind == Tok::Newline) continue;
            if (k > first && (t.begin > toks_[k - 1].end || toks_[k - 1].kind == Tok::Newline)) f.text += ' ';
            f.text.append(text_.substr(t.begin, t.end - t.begin));
        }
        return f;
    }

    std::string_view text_;
    const std::string& file_;
    Diagnostics& diags_;
    std::vector<Token> toks_;
    size_t i_ = 0;
    std::string pending_set_, pending_action_;  // name of the definition being parsed
};

}  // namespace

bool is_reserved_word(const std::string& w) {
    for (const char* k : kReserved)
        if (w == k) return true;
    return false;
}

ast::File parse(std::string_view text, const std::string& file, Diagnostics& diags) {
    return Parser(text, file, diags).run();
}

}  // namespace secpol::front
