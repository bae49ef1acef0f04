// Lexer: token kinds, positions, and every lexical error it must report.
#include "front/lexer.h"

#include <gtest/gtest.h>

using namespace secpol::front;

namespace {

std::vector<Token> lex_ok(const std::string& text) {
    Diagnostics d;
    auto toks = lex(text, "t.pol", d);
    EXPECT_FALSE(d.has_errors()) << (d.all().empty() ? "" : d.all()[0].message);
    return toks;
}

std::vector<Tok> kinds(const std::vector<Token>& toks) {
    std::vector<Tok> k;
    for (const auto& t : toks) k.push_back(t.kind);
    return k;
}

}  // namespace

TEST(Lexer, ClassifiesWordsNumbersRangesAddresses) {
    auto t = lex_ok("permit proto tcp from 10.0.0.0/8 port 5985-5986,22 to 2001:db8::1 $web accept-clear");
    EXPECT_EQ(kinds(t), (std::vector<Tok>{Tok::Word, Tok::Word, Tok::Word, Tok::Word, Tok::Address, Tok::Word,
                                          Tok::Range, Tok::Comma, Tok::Number, Tok::Word, Tok::Address,
                                          Tok::Var, Tok::Word, Tok::End}));
    EXPECT_EQ(t[4].text, "10.0.0.0/8");
    EXPECT_EQ(t[6].lo, 5985u);
    EXPECT_EQ(t[6].hi, 5986u);
    EXPECT_EQ(t[8].lo, 22u);
    EXPECT_EQ(t[11].text, "web");
    EXPECT_EQ(t[12].text, "accept-clear");
}

TEST(Lexer, PunctuationNewlinesAndComments) {
    auto t = lex_ok("set a = { 1, 2 } # a comment { not tokens }\n\"x\"\n");
    EXPECT_EQ(kinds(t), (std::vector<Tok>{Tok::Word, Tok::Word, Tok::Equals, Tok::LBrace, Tok::Number,
                                          Tok::Comma, Tok::Number, Tok::RBrace, Tok::Newline, Tok::String,
                                          Tok::Newline, Tok::End}));
}

TEST(Lexer, LinesAndColumnsAreOneBasedAndCountCodePoints) {
    auto t = lex_ok("policy \"é\" x\n  block");
    ASSERT_GE(t.size(), 5u);
    EXPECT_EQ(t[0].line, 1);
    EXPECT_EQ(t[0].col, 1);
    EXPECT_EQ(t[1].col, 8);
    EXPECT_EQ(t[1].text, "é");
    EXPECT_EQ(t[2].col, 12);  // "é" is one column, two bytes
    EXPECT_EQ(t[4].line, 2);
    EXPECT_EQ(t[4].col, 3);
}

TEST(Lexer, StringEscapes) {
    auto t = lex_ok(R"("a \"quoted\" \\ label")");
    EXPECT_EQ(t[0].kind, Tok::String);
    EXPECT_EQ(t[0].text, "a \"quoted\" \\ label");
}

TEST(Lexer, NumbersSaturateInsteadOfOverflowing) {
    auto t = lex_ok("99999999999999999999999 1-99999999999999");
    EXPECT_EQ(t[0].kind, Tok::Number);
    EXPECT_EQ(t[0].lo, 1ull << 32);
    EXPECT_EQ(t[1].kind, Tok::Range);
    EXPECT_EQ(t[1].hi, 1ull << 32);
}

TEST(Lexer, UnterminatedStringIsAnErrorAtTheQuote) {
    Diagnostics d;
    auto t = lex("permit from any to me \"oops\nblock", "t.pol", d);
    ASSERT_EQ(d.error_count(), 1u);
    EXPECT_EQ(d.all()[0].loc.line, 1);
    EXPECT_EQ(d.all()[0].loc.col, 23);
    EXPECT_NE(d.all()[0].message.find("unterminated string"), std::string::npos);
    // Lexing goes on after the line.
    EXPECT_EQ(t[t.size() - 2].text, "block");
}

TEST(Lexer, InvalidUtf8IsReportedOncePerLine) {
    Diagnostics d;
    lex("permit \xff\xfe\xfd from\n# comment \xc3\x28\nok\n", "t.pol", d);
    ASSERT_EQ(d.error_count(), 2u);
    EXPECT_EQ(d.all()[0].loc.line, 1);
    EXPECT_EQ(d.all()[0].loc.col, 8);
    EXPECT_NE(d.all()[0].message.find("invalid UTF-8 byte 0xff"), std::string::npos);
    EXPECT_EQ(d.all()[1].loc.line, 2);
}

TEST(Lexer, ValidUtf8OutsideStringsIsAnUnexpectedCharacter) {
    Diagnostics d;
    lex("permit → any", "t.pol", d);
    ASSERT_EQ(d.error_count(), 1u);
    EXPECT_NE(d.all()[0].message.find("unexpected character '→'"), std::string::npos);
}

TEST(Lexer, BinaryInputIsOneClearError) {
    std::string junk =
        "\x7f"
        "ELF\x02\x01\x01";
    junk += std::string("\0\0\0\0", 4);
    for (int i = 0; i < 5000; ++i) junk += static_cast<char>(i * 37);
    Diagnostics d;
    auto t = lex(junk, "t.pol", d);
    ASSERT_EQ(d.error_count(), 1u);
    EXPECT_NE(d.all()[0].message.find("not a policy file"), std::string::npos);
    EXPECT_EQ(t.back().kind, Tok::End);
}

TEST(Lexer, ControlCharactersAreErrors) {
    Diagnostics d;
    lex("permit \x01 any", "t.pol", d);
    ASSERT_EQ(d.error_count(), 1u);
    EXPECT_NE(d.all()[0].message.find("control character 0x01"), std::string::npos);
}

TEST(Lexer, DollarNeedsAName) {
    Diagnostics d;
    auto t = lex("from $ to", "t.pol", d);
    EXPECT_EQ(d.error_count(), 1u);
    EXPECT_EQ(t[1].kind, Tok::Error);
}

TEST(Lexer, Utf8SequenceLength) {
    EXPECT_EQ(utf8_seq_len("a", 0), 1u);
    EXPECT_EQ(utf8_seq_len("\xc3\xa9", 0), 2u);
    EXPECT_EQ(utf8_seq_len("\xe2\x86\x92", 0), 3u);
    EXPECT_EQ(utf8_seq_len("\xf0\x9f\x98\x80", 0), 4u);
    EXPECT_EQ(utf8_seq_len("\xc0\x80", 0), 0u);      // overlong
    EXPECT_EQ(utf8_seq_len("\xed\xa0\x80", 0), 0u);  // surrogate
    EXPECT_EQ(utf8_seq_len("\xc3", 0), 0u);          // truncated
}
