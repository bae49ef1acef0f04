// JSON string literals exactly as nlohmann's dump() writes them, without a
// json value per string where none is needed: most labels and filter texts
// need no escape and go out as they are; the rest (control characters,
// quotes, backslashes, and any byte above ASCII, whose UTF-8 nlohmann checks)
// through nlohmann itself: its escaping, not a copy of it. Shared by the
// object's meta writer and the read commands' streamed output.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace secpol {

// True when s can go between quotes as it is.
inline bool json_plain(std::string_view s) {
    for (unsigned char c : s)
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') return false;
    return true;
}

// s as a JSON string literal, through nlohmann (not plain strings only).
inline std::string json_escaped(std::string_view s) {
    return nlohmann::json(std::string(s)).dump();
}

}  // namespace secpol
