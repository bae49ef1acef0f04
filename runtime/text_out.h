// A buffered writer for the read commands' output: at 100,000 rules a
// counters document is ~70 MB and a Prometheus exposition ~140 MB, so they
// are written as they are rendered instead of built whole in memory: to a
// FILE*, or in chunks to a callback (the daemon's HTTP response); the
// string form serves the tests.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

#include "json_string.h"

namespace secpol::rt {

class TextOut {
  public:
    explicit TextOut(std::FILE* f) : file_(f) { buf_.reserve(kChunk + 4096); }
    explicit TextOut(std::string* s) : str_(s) {}
    // Chunks of at least 64 KiB (the last one shorter) to `sink`, which
    // returns false when it could not take them (an HTTP client gone).
    explicit TextOut(std::function<bool(std::string_view)> sink) : sink_(std::move(sink)) {
        buf_.reserve(kChunk + 4096);
    }
    ~TextOut() { flush(); }
    TextOut(const TextOut&) = delete;
    TextOut& operator=(const TextOut&) = delete;

    TextOut& operator<<(std::string_view s) {
        target().append(s);
        return spill();
    }
    TextOut& operator<<(char c) {
        target().push_back(c);
        return spill();
    }
    TextOut& num(int64_t v) {
        char b[24];
        auto r = std::to_chars(b, b + sizeof b, v);
        return *this << std::string_view(b, r.ptr - b);
    }
    TextOut& spaces(int n) {
        target().append(static_cast<size_t>(n), ' ');
        return spill();
    }
    // Writes what is buffered; false once any write to the file failed.
    bool flush() {
        if (buf_.empty()) return good_;
        if (file_ && std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size()) good_ = false;
        if (sink_ && good_ && !sink_(buf_)) good_ = false;
        buf_.clear();
        return good_;
    }
    bool good() const { return good_; }

  private:
    static constexpr size_t kChunk = 1 << 16;
    std::FILE* file_ = nullptr;
    std::string* str_ = nullptr;
    std::function<bool(std::string_view)> sink_;
    std::string buf_;
    bool good_ = true;

    std::string& target() { return str_ ? *str_ : buf_; }
    TextOut& spill() {
        if (!str_ && buf_.size() >= kChunk) flush();
        return *this;
    }
};

// A JSON string literal exactly as nlohmann's dump() writes it (json_string.h).
inline void json_string(TextOut& o, std::string_view s) {
    if (json_plain(s))
        o << '"' << s << '"';
    else
        o << json_escaped(s);
}

}  // namespace secpol::rt
