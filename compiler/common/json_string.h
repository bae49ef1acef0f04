// JSON string literals exactly as nlohmann's dump() writes them, without a
// json value per string where none is needed: most labels and filter texts
// need no escape and go out as they are; the rest (control characters,
// quotes, backslashes, and any byte above ASCII, whose UTF-8 nlohmann checks)
// through nlohmann itself: its escaping, not a copy of it. Shared by the
// object's meta writer and the read commands' streamed output.
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace secpol {

// True when c can go between quotes as it is.
inline bool json_plain_char(unsigned char c) {
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

// True when s can go between quotes as it is.
inline bool json_plain(std::string_view s) {
    for (unsigned char c : s)
        if (!json_plain_char(c)) return false;
    return true;
}

// s as a JSON string literal, through nlohmann (not plain strings only).
inline std::string json_escaped(std::string_view s) {
    return nlohmann::json(std::string(s)).dump();
}

// Appends s as a JSON string literal, run by run, for long strings that need
// an escape here and there (a policy's source: a newline and quotes on every
// line): plain runs as they are, an ASCII character that needs an escape as
// nlohmann escapes it (asked once per character, then kept), a run of bytes
// >= 0x80 through nlohmann, which checks its UTF-8. JSON escapes character by
// character and a UTF-8 sequence (bytes >= 0x80 only) never spans two runs,
// so the text is what nlohmann writes for the whole string, and an invalid
// sequence is refused as it is there.
inline void append_json_string(std::string& out, std::string_view s) {
    static const std::array<std::string, 0x80> ascii = [] {
        std::array<std::string, 0x80> a;
        for (unsigned c = 0; c < 0x80; ++c) {
            const std::string e = json_escaped(std::string(1, static_cast<char>(c)));
            a[c] = e.substr(1, e.size() - 2);
        }
        return a;
    }();
    out += '"';
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        size_t j = i + 1;
        if (json_plain_char(c)) {
            while (j < s.size() && json_plain_char(static_cast<unsigned char>(s[j]))) ++j;
            out.append(s, i, j - i);
        } else if (c < 0x80) {
            out += ascii[c];
        } else {
            while (j < s.size() && static_cast<unsigned char>(s[j]) >= 0x80) ++j;
            const std::string e = json_escaped(s.substr(i, j - i));
            out.append(e, 1, e.size() - 2);  // without its quotes
        }
        i = j;
    }
    out += '"';
}

}  // namespace secpol
