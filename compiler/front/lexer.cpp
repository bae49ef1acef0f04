#include "front/lexer.h"

#include <cstdio>

namespace secpol::front {

const char* to_string(Tok t) {
    switch (t) {
        case Tok::Word:
            return "word";
        case Tok::Number:
            return "number";
        case Tok::Range:
            return "range";
        case Tok::Address:
            return "address";
        case Tok::Var:
            return "'$name'";
        case Tok::String:
            return "string";
        case Tok::LBrace:
            return "'{'";
        case Tok::RBrace:
            return "'}'";
        case Tok::Comma:
            return "','";
        case Tok::Equals:
            return "'='";
        case Tok::Newline:
            return "end of line";
        case Tok::Error:
            return "invalid token";
        case Tok::End:
            return "end of file";
    }
    return "?";
}

size_t utf8_seq_len(std::string_view s, size_t i) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned c = b(i);
    if (c < 0x80) return 1;
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
        if ((b(i + k) & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (b(i + k) & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

namespace {

bool is_word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '/' || c == '-';
}
bool is_ident_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Saturating decimal parse: anything past 2^32 is "too big" for every use.
uint64_t parse_dec(std::string_view s) {
    uint64_t v = 0;
    for (char c : s) {
        v = v * 10 + static_cast<unsigned>(c - '0');
        if (v > (1ull << 32)) return 1ull << 32;
    }
    return v;
}

class Lexer {
  public:
    Lexer(std::string_view text, const std::string& file, Diagnostics& diags)
        : s_(text), file_(file), diags_(diags) {}

    std::vector<Token> run() {
        std::vector<Token> out;
        // Windows editors start UTF-8 files with a byte order mark; it is not
        // part of line 1, so columns there count from after it.
        if (s_.substr(0, 3) == kUtf8Bom) pos_ = 3;
        if (s_.substr(0, 4) == std::string_view("\x7f"
                                                "ELF",
                                                4)) {
            // The commonest binary by far: `secpol compile`'s own output given
            // where its source is wanted.
            diags_.error(loc(),
                         "this is a compiled object (ELF), not a policy file: give the policy's source");
            out.push_back(make(Tok::End, pos_));
            return out;
        }
        if (auto nul = s_.find('\0'); nul != std::string_view::npos) {
            // A NUL byte never occurs in text: one clear error beats thousands of junk ones.
            advance_to(nul);
            diags_.error(loc(),
                         "this is not a policy file: NUL byte found (binary data?); policies are UTF-8 text");
            out.push_back(make(Tok::End, pos_));
            return out;
        }
        // Past kMaxErrors the rest is not lexed: 100,000 bad lines are 100 errors and a note.
        while (pos_ < s_.size() && !diags_.full()) {
            char c = s_[pos_];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
                step();
            } else if (c == '#') {
                skip_comment();
            } else if (c == '\n') {
                out.push_back(make(Tok::Newline, pos_, pos_ + 1));
                step();
            } else if (c == '"') {
                out.push_back(string());
            } else if (c == '{' || c == '}' || c == ',' || c == '=') {
                Tok k = c == '{' ? Tok::LBrace : c == '}' ? Tok::RBrace : c == ',' ? Tok::Comma : Tok::Equals;
                out.push_back(make(k, pos_, pos_ + 1));
                step();
            } else if (c == '$') {
                out.push_back(var());
            } else if (is_word_char(c)) {
                out.push_back(word());
            } else {
                out.push_back(junk());
            }
        }
        if (diags_.full()) diags_.stop(loc());
        out.push_back(make(Tok::End, pos_, pos_));
        return out;
    }

  private:
    ir::SourceLoc loc() const { return {file_, line_, col_}; }

    // Moves one code point (or one invalid byte) forward, tracking line and column.
    void step() {
        unsigned char c = static_cast<unsigned char>(s_[pos_]);
        if (c == '\n') {
            ++line_;
            col_ = 1;
            ++pos_;
            return;
        }
        size_t n = c < 0x80 ? 1 : utf8_seq_len(s_, pos_);
        pos_ += n ? n : 1;
        ++col_;
    }
    void advance_to(size_t target) {
        while (pos_ < target) step();
    }

    Token make(Tok k, size_t begin, size_t end = std::string_view::npos) {
        Token t;
        t.kind = k;
        t.line = line_;
        t.col = col_;
        t.begin = begin;
        t.end = end == std::string_view::npos ? begin : end;
        return t;
    }

    // One lexical error per line: a line of junk is one mistake, not forty.
    void error_once(std::string msg) {
        if (line_ == last_error_line_) return;
        last_error_line_ = line_;
        diags_.error(loc(), std::move(msg));
    }

    void skip_comment() {
        while (pos_ < s_.size() && s_[pos_] != '\n') {
            if (static_cast<unsigned char>(s_[pos_]) >= 0x80 && utf8_seq_len(s_, pos_) == 0) bad_utf8();
            step();
        }
    }

    void bad_utf8() {
        char buf[96];
        std::snprintf(buf, sizeof buf, "invalid UTF-8 byte 0x%02x: policy files must be UTF-8 text",
                      static_cast<unsigned char>(s_[pos_]));
        error_once(buf);
    }

    Token string() {
        Token t = make(Tok::String, pos_);
        step();  // opening quote
        bool bad = false;
        while (true) {
            if (pos_ >= s_.size() || s_[pos_] == '\n') {
                diags_.error({file_, t.line, t.col},
                             "unterminated string: missing closing '\"' on this line");
                last_error_line_ = t.line;
                t.kind = Tok::Error;
                break;
            }
            char c = s_[pos_];
            if (c == '"') {
                step();
                break;
            }
            if (c == '\\' && pos_ + 1 < s_.size() && (s_[pos_ + 1] == '"' || s_[pos_ + 1] == '\\')) {
                t.text += s_[pos_ + 1];
                step();
                step();
                continue;
            }
            unsigned char u = static_cast<unsigned char>(c);
            if (u >= 0x80) {
                size_t n = utf8_seq_len(s_, pos_);
                if (n == 0) {
                    bad_utf8();
                    bad = true;
                    step();
                    continue;
                }
                t.text.append(s_.substr(pos_, n));
            } else if (u < 0x20 && c != '\t') {
                error_once("control character in string");
                bad = true;
            } else {
                t.text += c;
            }
            step();
        }
        if (bad) t.kind = Tok::Error;
        t.end = pos_;
        return t;
    }

    Token var() {
        Token t = make(Tok::Var, pos_);
        step();
        size_t b = pos_;
        if (pos_ < s_.size() && is_ident_start(s_[pos_])) {
            while (pos_ < s_.size() && is_word_char(s_[pos_]) && s_[pos_] != '.' && s_[pos_] != ':' &&
                   s_[pos_] != '/')
                step();
        }
        t.text = std::string(s_.substr(b, pos_ - b));
        t.end = pos_;
        if (t.text.empty()) {
            diags_.error({file_, t.line, t.col}, "'$' must be followed by a set name");
            last_error_line_ = t.line;
            t.kind = Tok::Error;
        }
        return t;
    }

    Token word() {
        Token t = make(Tok::Word, pos_);
        size_t b = pos_;
        while (pos_ < s_.size() && is_word_char(s_[pos_])) step();
        t.end = pos_;
        t.text = std::string(s_.substr(b, pos_ - b));
        const std::string& w = t.text;
        size_t dash = w.find('-');
        bool digits = !w.empty();
        for (char c : w) digits = digits && is_digit(c);
        if (digits) {
            t.kind = Tok::Number;
            t.lo = t.hi = parse_dec(w);
        } else if (dash != std::string::npos && dash > 0 && dash + 1 < w.size() &&
                   w.find_first_not_of("0123456789-") == std::string::npos &&
                   w.find('-', dash + 1) == std::string::npos) {
            t.kind = Tok::Range;
            t.lo = parse_dec(std::string_view(w).substr(0, dash));
            t.hi = parse_dec(std::string_view(w).substr(dash + 1));
        } else if (w.find_first_of(".:/") != std::string::npos || !is_ident_start(w[0])) {
            t.kind = Tok::Address;
        }
        return t;
    }

    Token junk() {
        Token t = make(Tok::Error, pos_);
        unsigned char u = static_cast<unsigned char>(s_[pos_]);
        char buf[128];
        if (u >= 0x80) {
            size_t n = utf8_seq_len(s_, pos_);
            if (n == 0) {
                bad_utf8();
            } else {
                std::snprintf(buf, sizeof buf, "unexpected character '%.*s' outside a string or comment",
                              static_cast<int>(n), s_.data() + pos_);
                error_once(buf);
            }
        } else if (u < 0x20 || u == 0x7f) {
            std::snprintf(buf, sizeof buf, "unexpected control character 0x%02x", u);
            error_once(buf);
        } else {
            std::snprintf(buf, sizeof buf, "unexpected character '%c'", u);
            error_once(buf);
        }
        step();
        t.end = pos_;
        return t;
    }

    std::string_view s_;
    const std::string& file_;
    Diagnostics& diags_;
    size_t pos_ = 0;
    int line_ = 1;
    int col_ = 1;
    int last_error_line_ = 0;
};

}  // namespace

std::vector<Token> lex(std::string_view text, const std::string& file, Diagnostics& diags) {
    return Lexer(text, file, diags).run();
}

}  // namespace secpol::front
