// Lexer of the policy language: bytes -> tokens. Lexical mistakes (bad
// characters, invalid UTF-8, unterminated strings) are reported here and
// become Error tokens so the parser can skip the statement.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "front/frontend.h"

namespace secpol::front {

enum class Tok : uint8_t {
    Word,     // identifier or keyword: permit, tcp, accept-clear, my_set
    Number,   // 443
    Range,    // 5985-5986
    Address,  // 10.0.0.0/8, 2001:db8::1, anything else with '.', ':' or '/'
    Var,      // $name (text holds the name without '$')
    String,   // "label" (text holds the unescaped contents)
    LBrace,
    RBrace,
    Comma,
    Equals,
    Newline,
    Error,  // already reported
    End,
};

const char* to_string(Tok t);

struct Token {
    Tok kind = Tok::End;
    std::string text;
    int line = 0;
    int col = 0;       // 1-based, in code points
    size_t begin = 0;  // byte offsets into the source
    size_t end = 0;
    uint64_t lo = 0, hi = 0;  // Number (lo) and Range; saturates at 2^32
};

// Lexes the whole text. Errors go to diags; the token list always ends with End.
std::vector<Token> lex(std::string_view text, const std::string& file, Diagnostics& diags);

// The UTF-8 byte order mark some editors write at the start of a file; skipped.
inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Length in bytes of the valid UTF-8 sequence at s[i], or 0 when invalid.
size_t utf8_seq_len(std::string_view s, size_t i);

}  // namespace secpol::front
