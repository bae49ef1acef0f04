// secpol: compile IPsec-style packet filter policies to eBPF, load them, read counters.
#include <CLI/CLI.hpp>

#include "commands.h"
#include "log.h"
#include "output.h"
#include "runtime/heap.h"

int main(int argc, char** argv) {
    secpol::rt::tune_heap();
    CLI::App app{"secpol: IPsec-style packet filter policies compiled to eBPF (XDP ingress, tc egress)"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "secpol 0.1.0");
    int verbosity = 0;
    app.add_flag("-v,--verbose", verbosity,
                 "more output; -vv adds libbpf's debug messages (before or after the verb)");
    // Options a verb does not know (-v after the verb) are taken by secpol itself.
    app.fallthrough();
    app.footer("Exit status: 0 ok, 1 error, 2 usage (bad command line), 3 replay disagreement.");
    app.parse_complete_callback([&] {
        secpol::log::set_level(secpol::log::Warn + verbosity);
        secpol::log::install_libbpf_printer();
    });

    int exit_code = 0;
    secpol::cli::add_check(app, exit_code);
    secpol::cli::add_explain(app, exit_code);
    secpol::cli::add_compile(app, exit_code);
    secpol::cli::add_replay(app, exit_code);
    secpol::cli::add_load(app, exit_code);
    secpol::cli::add_status(app, exit_code);
    secpol::cli::add_export(app, exit_code);
    secpol::cli::add_daemon(app, exit_code);
    secpol::cli::add_diff(app, exit_code);
    secpol::cli::add_confirm(app, exit_code);
    secpol::cli::add_show(app, exit_code);
    secpol::cli::add_log(app, exit_code);

    return secpol::cli::run(app, argc, argv, exit_code);
}
