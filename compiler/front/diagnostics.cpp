// Diagnostics: collection, the compiler-style text form and JSON.
#include <algorithm>
#include <string>
#include <string_view>

#include "front/frontend.h"
#include "front/lexer.h"

namespace secpol::front {

namespace {
const std::string kStopNote = "too many errors; stopping after " + std::to_string(kMaxErrors);
}

void Diagnostics::error(const ir::SourceLoc& loc, std::string msg) {
    if (full()) return stop(loc);
    ++errors_;
    list_.push_back({Diagnostic::Severity::Error, loc, std::move(msg)});
}
void Diagnostics::stop(const ir::SourceLoc& loc) {
    if (stopped_) return;
    stopped_ = true;
    list_.push_back({Diagnostic::Severity::Note, loc, kStopNote});
}
void Diagnostics::warning(const ir::SourceLoc& loc, std::string msg) {
    ++warnings_;
    list_.push_back({Diagnostic::Severity::Warning, loc, std::move(msg)});
}
void Diagnostics::note(const ir::SourceLoc& loc, std::string msg) {
    list_.push_back({Diagnostic::Severity::Note, loc, std::move(msg)});
}
bool Diagnostics::has_errors() const {
    return error_count() > 0;
}
size_t Diagnostics::error_count() const {
    return errors_;
}
size_t Diagnostics::warning_count() const {
    return warnings_;
}

void Diagnostics::sort_by_location() {
    std::stable_sort(list_.begin(), list_.end(), [](const Diagnostic& a, const Diagnostic& b) {
        if (a.loc.file != b.loc.file) return false;
        return a.loc.line != b.loc.line ? a.loc.line < b.loc.line : a.loc.col < b.loc.col;
    });
    if (stopped_)
        std::stable_partition(list_.begin(), list_.end(), [](const Diagnostic& d) {
            return d.severity != Diagnostic::Severity::Note || d.message != kStopNote;
        });
}

static const char* severity_name(Diagnostic::Severity s) {
    switch (s) {
        case Diagnostic::Severity::Error:
            return "error";
        case Diagnostic::Severity::Warning:
            return "warning";
        case Diagnostic::Severity::Note:
            return "note";
    }
    return "?";
}

// Lines longer than this (in bytes) are clipped to this many characters
// around the caret: a generated or binary "line" of megabytes would bury the
// message.
static constexpr int kExcerptWidth = 120;

// The source line with anything unprintable replaced, so binary junk in a
// policy cannot garble the terminal, and the caret under column `col`.
static void print_excerpt(std::ostream& os, std::string_view line, int col) {
    const int first =  // first column shown
        line.size() > static_cast<size_t>(kExcerptWidth) ? std::max(1, col - kExcerptWidth / 2) : 1;
    std::string shown = first > 1 ? "..." : "", caret = first > 1 ? "   " : "";
    int c = 1;
    for (size_t i = 0; i < line.size();) {
        unsigned char b = static_cast<unsigned char>(line[i]);
        size_t n = b < 0x80 ? 1 : utf8_seq_len(line, i);
        const bool tab = b == '\t', invalid = n == 0;
        if (invalid) n = 1;
        if (c >= first + kExcerptWidth) {
            shown += "...";
            break;
        }
        if (c >= first) {
            if (invalid || (b < 0x20 && !tab) || b == 0x7f)
                shown += '?';
            else
                shown.append(line.substr(i, n));
            if (c < col) caret += tab ? '\t' : ' ';
        }
        i += n;
        ++c;
    }
    for (; c < col; ++c)  // caret past the end of the line (missing token)
        if (c >= first) caret += ' ';
    os << "  " << shown << "\n  " << caret << "^\n";
}

void Diagnostics::print(std::ostream& os, const std::string& source_text) const {
    // Line start offsets, found once.
    std::vector<size_t> starts{0};
    for (size_t i = 0; i < source_text.size(); ++i)
        if (source_text[i] == '\n') starts.push_back(i + 1);
    for (const auto& d : list_) {
        os << d.loc.file;
        if (d.loc.line > 0) os << ':' << d.loc.line << ':' << d.loc.col;
        os << ": " << severity_name(d.severity) << ": " << d.message << "\n";
        if (d.loc.line > 0 && static_cast<size_t>(d.loc.line) <= starts.size()) {
            size_t b = starts[d.loc.line - 1];
            if (d.loc.line == 1 && std::string_view(source_text).substr(0, 3) == kUtf8Bom) b = 3;
            size_t e = source_text.find('\n', b);
            if (e == std::string::npos) e = source_text.size();
            std::string_view line(source_text.data() + b, e - b);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            print_excerpt(os, line, d.loc.col);
        }
    }
}

nlohmann::json Diagnostics::to_json() const {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& d : list_)
        arr.push_back({{"severity", severity_name(d.severity)},
                       {"file", d.loc.file},
                       {"line", d.loc.line},
                       {"column", d.loc.col},
                       {"message", d.message}});
    return arr;
}

}  // namespace secpol::front
