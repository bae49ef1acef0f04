// libFuzzer target: the whole front end (lex, parse, resolve, expand,
// normalise, order, lints) on arbitrary bytes. A policy file is user input
// read by a root process, so every byte sequence must end in diagnostics or a
// policy -- never a crash, a hang or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "front/frontend.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    secpol::front::Diagnostics diags;
    auto policy = secpol::front::compile_text(text, "fuzz.pol", diags);
    // The printers and lints run on what the front end produced, as `secpol check` does.
    if (policy) {
        secpol::front::lint(*policy, diags);
        (void)secpol::front::dump_ir(*policy);
    }
    diags.sort_by_location();
    std::ostringstream os;
    diags.print(os, text);
    (void)diags.to_json().dump();
    // Invariant of compile_text: no policy exactly when there is an error.
    if (!policy && !diags.has_errors()) __builtin_trap();
    return 0;
}
