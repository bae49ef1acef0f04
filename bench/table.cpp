#include "table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace secpol::bench {

namespace {

// Columns on screen: UTF-8 continuation bytes take no column ("×", "≤").
size_t width(const std::string& s) {
    size_t w = 0;
    for (unsigned char c : s) w += (c & 0xC0) != 0x80;
    return w;
}

}  // namespace

std::string Table::markdown() const {
    std::ostringstream os;
    os << "### " << title << "\n\n|";
    for (const auto& h : head) os << ' ' << h << " |";
    os << "\n|";
    for (size_t i = 0; i < head.size(); ++i) os << (i == 0 ? "---|" : "--:|");
    os << "\n";
    for (const auto& r : rows) {
        os << "|";
        for (const auto& c : r) os << ' ' << c << " |";
        os << "\n";
    }
    return os.str();
}

std::string Table::text() const {
    std::vector<size_t> w(head.size(), 0);
    for (size_t i = 0; i < head.size(); ++i) w[i] = width(head[i]);
    for (const auto& r : rows)
        for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], width(r[i]));
    std::ostringstream os;
    os << title << "\n";
    auto line = [&](const std::vector<std::string>& r) {
        for (size_t i = 0; i < w.size(); ++i) {
            const std::string c = i < r.size() ? r[i] : "";
            // First column left-aligned (names), figures right-aligned.
            if (i == 0)
                os << c << std::string(w[i] - width(c), ' ');
            else
                os << "  " << std::string(w[i] - width(c), ' ') << c;
        }
        os << "\n";
    };
    line(head);
    size_t total = 0;
    for (size_t x : w) total += x + 2;
    os << std::string(total - 2, '-') << "\n";
    for (const auto& r : rows) line(r);
    return os.str();
}

std::string fmt(double v, int decimals) {
    if (std::isnan(v)) return "-";
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", decimals, v);
    // Thousands separators on the integer part: 12345.6 -> 12,345.6.
    std::string s = b;
    size_t dot = s.find('.');
    size_t end = dot == std::string::npos ? s.size() : dot;
    size_t start = s[0] == '-' ? 1 : 0;
    for (size_t i = end; i > start + 3; i -= 3) s.insert(i - 3, ",");
    return s;
}

std::string fmt_bytes(double bytes) {
    if (std::isnan(bytes)) return "-";
    if (bytes < 1024) return fmt(bytes, 0) + " B";
    if (bytes < 1024 * 1024) return fmt(bytes / 1024, 0) + " KiB";
    return fmt(bytes / (1024 * 1024), 1) + " MiB";
}

}  // namespace secpol::bench
