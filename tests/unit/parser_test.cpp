// Parser: statement shapes into the syntax tree, error messages, recovery.
#include "front/parser.h"

#include <gtest/gtest.h>

using namespace secpol;
using namespace secpol::front;

namespace {

ast::File parse_ok(const std::string& text) {
    Diagnostics d;
    auto f = parse(text, "t.pol", d);
    EXPECT_FALSE(d.has_errors()) << (d.all().empty() ? "" : d.all()[0].message);
    return f;
}

template <typename T>
const T& body(const ast::File& f, size_t i) {
    EXPECT_LT(i, f.stmts.size());
    return std::get<T>(f.stmts.at(i).body);
}

}  // namespace

TEST(Parser, HeaderStatements) {
    auto f = parse_ok(
        "policy \"p\"\nexemptions nodefaultexempt 2\norder first-match\ndefault block\n"
        "action req = secure accept-clear fallback-clear\n");
    ASSERT_EQ(f.stmts.size(), 5u);
    EXPECT_EQ(body<ast::PolicyStmt>(f, 0).label, "p");
    EXPECT_EQ(body<ast::ExemptionsStmt>(f, 1).kind, ast::ExemptionsStmt::Kind::NoDefaultExempt);
    EXPECT_EQ(body<ast::ExemptionsStmt>(f, 1).level, 2u);
    EXPECT_EQ(body<ast::OrderStmt>(f, 2).order, ir::Order::FirstMatch);
    EXPECT_EQ(body<ast::DefaultStmt>(f, 3).action, ir::Action::Block);
    const auto& a = body<ast::ActionStmt>(f, 4);
    EXPECT_EQ(a.name, "req");
    EXPECT_EQ(a.spec.kind, ir::Action::Secure);
    EXPECT_TRUE(a.spec.accept_clear);
    EXPECT_TRUE(a.spec.fallback_clear);
    EXPECT_EQ(a.spec.name, "req");
}

TEST(Parser, ExemptionListSpansLinesCommasOptional) {
    auto f = parse_ok("exemptions {\n  ike, kerberos\n  nd }\n");
    const auto& e = body<ast::ExemptionsStmt>(f, 0);
    ASSERT_EQ(e.names.size(), 3u);
    EXPECT_EQ(e.names[2].first, "nd");
    EXPECT_EQ(e.names[2].second.line, 3);
}

TEST(Parser, FullFilterStatement) {
    auto f = parse_ok(
        "secure fallback-clear in proto tcp from { 10.0.0.0/8, me\n $x } port 1024-65535 to any port "
        "80,443,$web "
        "mirrored tunnel 192.0.2.1 \"lbl\"\n");
    const auto& s = body<ast::FilterStmt>(f, 0);
    EXPECT_TRUE(s.inline_action);
    EXPECT_EQ(s.action.kind, ir::Action::Secure);
    EXPECT_TRUE(s.action.fallback_clear);
    EXPECT_FALSE(s.action.accept_clear);
    EXPECT_EQ(s.dir, ir::Dir::In);
    ASSERT_TRUE(s.proto);
    EXPECT_EQ(s.proto->text, "tcp");
    ASSERT_EQ(s.src.items.size(), 3u);
    EXPECT_EQ(s.src.items[1].kind, ast::Item::Kind::Me);
    EXPECT_EQ(s.src.items[2].kind, ast::Item::Kind::SetRef);
    EXPECT_EQ(s.src.items[2].loc.line, 2);
    ASSERT_TRUE(s.sport);
    EXPECT_EQ(s.sport->items[0].kind, ast::Item::Kind::Range);
    ASSERT_TRUE(s.dport);
    EXPECT_EQ(s.dport->items.size(), 3u);
    EXPECT_EQ(s.dst.items[0].kind, ast::Item::Kind::Any);
    EXPECT_TRUE(s.mirrored);
    ASSERT_TRUE(s.tunnel);
    EXPECT_EQ(s.tunnel->text, "192.0.2.1");
    EXPECT_EQ(s.label, "lbl");
    // The statement as written, whitespace collapsed across lines.
    EXPECT_EQ(s.text,
              "secure fallback-clear in proto tcp from { 10.0.0.0/8, me $x } port 1024-65535 to any port "
              "80,443,$web mirrored tunnel 192.0.2.1 \"lbl\"");
}

TEST(Parser, IcmpTypeAndCode) {
    auto f = parse_ok("permit proto icmpv6 type 133-137 code 0 from any to me\n");
    const auto& s = body<ast::FilterStmt>(f, 0);
    ASSERT_TRUE(s.icmp_type && s.icmp_code);
    EXPECT_EQ(s.icmp_type->lo, 133u);
    EXPECT_EQ(s.icmp_type->hi, 137u);
    EXPECT_EQ(s.icmp_code->lo, 0u);
}

TEST(Parser, NamedActionFilter) {
    auto f = parse_ok("require out from me to any\n");
    const auto& s = body<ast::FilterStmt>(f, 0);
    EXPECT_FALSE(s.inline_action);
    EXPECT_EQ(s.action_ref, "require");
    EXPECT_EQ(s.dir, ir::Dir::Out);
}

TEST(Parser, OptionsInAnyOrder) {
    auto f = parse_ok("permit from any to me \"l\" mirrored\n");
    EXPECT_TRUE(body<ast::FilterStmt>(f, 0).mirrored);
}

struct ParseError {
    const char* text;
    int line, col;
    const char* msg;
};

class ParserErrors : public ::testing::TestWithParam<ParseError> {};

TEST_P(ParserErrors, ReportsAtTheRightPlace) {
    const auto& c = GetParam();
    Diagnostics d;
    parse(c.text, "t.pol", d);
    ASSERT_EQ(d.error_count(), 1u) << c.text;
    EXPECT_EQ(d.all()[0].loc.line, c.line) << d.all()[0].message;
    EXPECT_EQ(d.all()[0].loc.col, c.col) << d.all()[0].message;
    EXPECT_NE(d.all()[0].message.find(c.msg), std::string::npos) << d.all()[0].message;
}

INSTANTIATE_TEST_SUITE_P(
    All, ParserErrors,
    ::testing::Values(ParseError{"permit proto tcp to me\n", 1, 18, "missing 'from ADDR' before 'to'"},
                      ParseError{"permit from any port\n", 1, 21, "expected a port"},
                      ParseError{"permit from any\n", 1, 16, "missing 'to ADDR'"},
                      ParseError{"permit from any \"x\"\n", 1, 17, "missing 'to ADDR'"},
                      ParseError{"polcy \"x\"\n", 1, 1, "unknown statement 'polcy'"},
                      ParseError{"exemptions windows95\n", 1, 12, "unknown exemption profile 'windows95'"},
                      ParseError{"order random\n", 1, 7, "'specificity' or 'first-match'"},
                      ParseError{"default secure\n", 1, 9, "'permit' or 'block'"},
                      ParseError{"set from = { 1 }\n", 1, 5, "reserved word"},
                      ParseError{"action a = permit accept-clear\n", 1, 19, "only applies to 'secure'"},
                      ParseError{"permit from any to me mirrored bogus\n", 1, 32, "expected 'mirrored'"},
                      ParseError{"permit from any to me \"a\" \"b\"\n", 1, 27, "one label"},
                      ParseError{"permit proto from any to me\n", 1, 14, "protocol name or number"},
                      ParseError{"permit code 3 from any to me\n", 1, 8, "'code' must follow 'type T'"},
                      ParseError{"set a = { }\n", 1, 11, "empty list"},
                      ParseError{"policy x\n", 1, 8, "quoted label"},
                      ParseError{"= 3\n", 1, 1, "expected a statement"}));

TEST(Parser, RecoversPerStatementAndReportsEveryError) {
    Diagnostics d;
    auto f =
        parse("permit from\nblock from any to me\norder sideways\npermit to\ndefault block\n", "t.pol", d);
    ASSERT_EQ(d.error_count(), 3u);
    EXPECT_EQ(d.all()[0].loc.line, 1);
    EXPECT_EQ(d.all()[1].loc.line, 3);
    EXPECT_EQ(d.all()[2].loc.line, 4);
    ASSERT_EQ(f.stmts.size(), 2u);  // the good statements survive
    EXPECT_EQ(f.stmts[0].loc.line, 2);
    EXPECT_EQ(f.stmts[1].loc.line, 5);
}

TEST(Parser, UnclosedBraceStopsAtTheNextStatement) {
    Diagnostics d;
    auto f = parse("set a = { 10.0.0.1\n 10.0.0.2\npermit from any to me \"after\"\n", "t.pol", d);
    ASSERT_EQ(d.error_count(), 1u);
    EXPECT_NE(d.all()[0].message.find("missing '}'"), std::string::npos);
    EXPECT_EQ(d.all()[0].loc.line, 3);
    ASSERT_EQ(f.stmts.size(), 1u);
    EXPECT_EQ(body<ast::FilterStmt>(f, 0).label, "after");
}

TEST(Parser, UnclosedBraceAtEndOfFile) {
    Diagnostics d;
    parse("set a = { 1, 2\n", "t.pol", d);
    ASSERT_EQ(d.error_count(), 1u);
    EXPECT_NE(d.all()[0].message.find("missing '}'"), std::string::npos);
}

TEST(Parser, HugeInputsDoNotRecurseOrStall) {
    // 200,000 opening braces on one line, a 100,000-member list and 50,000 statements.
    std::string braces = "set a = " + std::string(200000, '{') + "\n";
    std::string list = "set b = {";
    for (int i = 0; i < 100000; ++i) list += " " + std::to_string(i % 65536);
    list += " }\n";
    std::string many;
    for (int i = 0; i < 50000; ++i) many += "permit from any to me\n";
    Diagnostics d;
    auto f = parse(braces + list + many, "t.pol", d);
    EXPECT_EQ(d.error_count(), 1u);  // the brace line
    ASSERT_EQ(f.stmts.size(), 50001u);
    EXPECT_EQ(body<ast::SetStmt>(f, 0).members.items.size(), 100000u);
}

TEST(Parser, StopsAfterTooManyErrors) {
    std::string bad;
    for (int i = 0; i < 1000; ++i) bad += "bogus\n";
    Diagnostics d;
    parse(bad, "t.pol", d);
    EXPECT_EQ(d.error_count(), kMaxErrors);
    EXPECT_EQ(d.all().back().severity, Diagnostic::Severity::Note);
}

TEST(Parser, ReservedWords) {
    EXPECT_TRUE(is_reserved_word("mirrored"));
    EXPECT_TRUE(is_reserved_word("me"));
    EXPECT_FALSE(is_reserved_word("require"));
}

// Issue 12 item 3: `non-ip permit|block`.
TEST(Parser, NonIpStatement) {
    auto f = parse_ok("non-ip block\nnon-ip permit\n");
    ASSERT_EQ(f.stmts.size(), 2u);
    EXPECT_EQ(body<ast::NonIpStmt>(f, 0).action, ir::Action::Block);
    EXPECT_EQ(body<ast::NonIpStmt>(f, 1).action, ir::Action::Permit);
    Diagnostics d;
    parse("non-ip secure\n", "t.pol", d);
    ASSERT_TRUE(d.has_errors());
    EXPECT_NE(d.all()[0].message.find("'permit' or 'block' after 'non-ip'"), std::string::npos)
        << d.all()[0].message;
    EXPECT_EQ(d.all()[0].loc.line, 1);
    EXPECT_EQ(d.all()[0].loc.col, 8);
}

TEST(Parser, LogClauseOnFiltersAndTheDefault) {
    auto f = parse_ok(
        "default block log rate 6/min\n"
        "block proto tcp from any to any port 445 log \"a\"\n"
        "block from any to any \"b\" log rate 50/s burst 5\n"
        "permit from any to any log burst 3 mirrored\n"
        "block from any to any\n");
    ASSERT_EQ(f.stmts.size(), 5u);
    const auto& d = body<ast::DefaultStmt>(f, 0);
    ASSERT_TRUE(d.log);
    EXPECT_EQ(*d.log->rate, 6u);
    EXPECT_EQ(d.log->period, 60u);
    EXPECT_EQ(d.log->loc.col, 15);
    const auto& a = body<ast::FilterStmt>(f, 1);
    ASSERT_TRUE(a.log);
    EXPECT_FALSE(a.log->rate);
    EXPECT_FALSE(a.log->burst);
    EXPECT_EQ(*a.label, "a");
    const auto& b = body<ast::FilterStmt>(f, 2);
    ASSERT_TRUE(b.log);
    EXPECT_EQ(*b.log->rate, 50u);
    EXPECT_EQ(b.log->period, 1u);
    EXPECT_EQ(*b.log->burst, 5u);
    EXPECT_EQ(b.log->burst_loc.col, 47);
    const auto& c = body<ast::FilterStmt>(f, 3);
    ASSERT_TRUE(c.log);
    EXPECT_EQ(*c.log->burst, 3u);
    EXPECT_TRUE(c.mirrored);
    EXPECT_FALSE(body<ast::FilterStmt>(f, 4).log);
}

TEST(Parser, LogIsNotReservedAndRateUnitsAreSpelledOut) {
    // A set or an action named log stays valid, as before the clause existed.
    auto f = parse_ok("set log = { 10.0.0.1 }\naction log = block\nlog from $log to any log rate 1/second\n");
    ASSERT_EQ(f.stmts.size(), 3u);
    const auto& x = body<ast::FilterStmt>(f, 2);
    EXPECT_EQ(x.action_ref, "log");
    ASSERT_TRUE(x.log);
    EXPECT_EQ(x.log->period, 1u);
    for (const char* unit : {"s", "sec", "second", "m", "min", "minute"}) {
        auto g = parse_ok(std::string("block from any to any log rate 2/") + unit + "\n");
        EXPECT_EQ(body<ast::FilterStmt>(g, 0).log->period, unit[0] == 's' ? 1u : 60u) << unit;
    }
}

TEST(Parser, LogClauseMistakesNameTheirColumn) {
    struct Case {
        const char* text;
        int col;
        const char* message;
    } cases[] = {
        {"block from any to any log log\n", 27, "'log' given twice"},
        {"block from any to any log rate 10/hour\n", 32, "unknown rate unit 'hour'"},
        {"block from any to any log rate fast\n", 32, "expected a rate after 'rate'"},
        {"block from any to any log burst\n", 32, "expected a number of events after 'burst'"},
        {"block from any to any log rate 1/s rate 2/s\n", 36, "'rate' given twice"},
        {"default block log rate\n", 23, "expected a rate after 'rate'"},
        {"default block logs\n", 15, "unexpected 'logs'"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.text);
        Diagnostics d;
        parse(c.text, "t.pol", d);
        ASSERT_TRUE(d.has_errors());
        EXPECT_EQ(d.all()[0].loc.line, 1);
        EXPECT_EQ(d.all()[0].loc.col, c.col);
        EXPECT_NE(d.all()[0].message.find(c.message), std::string::npos) << d.all()[0].message;
    }
}
