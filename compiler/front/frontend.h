// Front end: policy text -> typed IR, through small named passes
// (parse -> resolve -> expand -> normalise -> order). User mistakes become
// diagnostics, never exceptions.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "ir/ir.h"

namespace secpol::front {

struct Diagnostic {
    enum class Severity { Error, Warning, Note } severity = Severity::Error;
    ir::SourceLoc loc;
    std::string message;
};

// Past this many errors a file is not worth reading further: later errors are
// dropped and one note says so (lexer, parser and passes alike).
inline constexpr size_t kMaxErrors = 100;

class Diagnostics {
  public:
    // Past kMaxErrors, drops msg and adds the "too many errors" note (once).
    void error(const ir::SourceLoc& loc, std::string msg);
    void warning(const ir::SourceLoc& loc, std::string msg);
    void note(const ir::SourceLoc& loc, std::string msg);
    bool has_errors() const;
    size_t error_count() const;
    size_t warning_count() const;
    // kMaxErrors reached: stop reading; stop() adds the note (once) at loc.
    bool full() const { return errors_ >= kMaxErrors; }
    void stop(const ir::SourceLoc& loc);
    const std::vector<Diagnostic>& all() const { return list_; }
    // "FILE:LINE:COL: error: MESSAGE", the source line and a caret, for each.
    void print(std::ostream& os, const std::string& source_text) const;
    nlohmann::json to_json() const;
    // Source order (stable), so output reads top to bottom whatever pass found
    // what; the "too many errors" note stays last.
    void sort_by_location();

  private:
    std::vector<Diagnostic> list_;
    size_t errors_ = 0, warnings_ = 0;
    bool stopped_ = false;
};

// Runs every pass. Returns the policy when there are no errors (warnings allowed).
std::optional<ir::Policy> compile_text(const std::string& text, const std::string& file, Diagnostics& diags);
std::optional<ir::Policy> compile_file(const std::string& path, Diagnostics& diags,
                                       std::string* text_out = nullptr);

// --dump=ir: the normalised, ordered filters, one per line.
std::string dump_ir(const ir::Policy& policy);

// Lints of `secpol check` (shadowed filters, IKE not reachable for secure filters, ...), as warnings.
void lint(const ir::Policy& policy, Diagnostics& diags);

}  // namespace secpol::front
