// A small table that prints as Markdown (docs) or as aligned text (terminal).
#pragma once

#include <string>
#include <vector>

namespace secpol::bench {

struct Table {
    std::string title;
    std::vector<std::string> head;
    std::vector<std::vector<std::string>> rows;

    std::string markdown() const;
    std::string text() const;
};

// "12.3", "1,234", "-" for NaN.
std::string fmt(double v, int decimals = 1);
std::string fmt_bytes(double bytes);  // "12 KiB", "1.2 MiB"

}  // namespace secpol::bench
