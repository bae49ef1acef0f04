// `secpol export swanctl POLICY [--local ADDR] [-o FILE] [--strict] [--json]`:
// the policy's secure filters as a strongSwan swanctl.conf (docs/interop.md,
// "One policy for both").
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "export/swanctl.h"
#include "front/frontend.h"
#include "ir/passes.h"
#include "output.h"

namespace secpol::cli {

namespace {

struct ExportArgs {
    std::string file;
    std::string local;
    std::string out;
    bool strict = false;
    bool json = false;
};

// Writes text to path through a temporary file and rename, 0600 when it
// holds a key: a reader never sees half a file, nor the key world-readable.
std::string write_atomically(const std::string& path, const std::string& text, bool secret) {
    const std::string tmp = path + ".tmp." + std::to_string(getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, secret ? 0600 : 0644);
    if (fd < 0) return "cannot create " + tmp + ": " + std::strerror(errno);
    size_t off = 0;
    while (off < text.size()) {
        ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            std::string e = std::string("cannot write ") + tmp + ": " + std::strerror(errno);
            ::close(fd);
            ::unlink(tmp.c_str());
            return e;
        }
        off += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        std::string e = std::string("cannot write ") + tmp + ": " + std::strerror(errno);
        ::unlink(tmp.c_str());
        return e;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        std::string e = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
        ::unlink(tmp.c_str());
        return e;
    }
    return "";
}

int run(const ExportArgs& a) {
    exporter::SwanctlOptions o;
    o.strict = a.strict;
    if (!a.local.empty()) {
        auto pp = ir::passes::parse_prefix(a.local);
        if (!pp.prefix || pp.prefix->len != 128)
            return error("export swanctl: --local '" + a.local + "' is not a single IPv4 or IPv6 address",
                         kUsage);
        o.local = pp.prefix;
    }
    o.base_dir = std::filesystem::path(a.file).parent_path().string();
    if (o.base_dir.empty()) o.base_dir = ".";

    front::Diagnostics diags;
    std::string text;
    auto policy = front::compile_file(a.file, diags, &text);
    std::optional<exporter::SwanctlExport> out;
    if (policy) out = exporter::export_swanctl(*policy, o, diags);
    diags.sort_by_location();
    if (a.json) {
        nlohmann::json j = {{"file", a.file},
                            {"ok", out.has_value()},
                            {"errors", diags.error_count()},
                            {"warnings", diags.warning_count()},
                            {"diagnostics", diags.to_json()}};
        if (!out)  // the convention's "error" key, next to the diagnostics that explain it
            j["error"] = std::string(policy ? "the policy cannot be exported" : "the policy is not valid") +
                         " (" + std::to_string(diags.error_count()) + " error" +
                         (diags.error_count() == 1 ? "" : "s") + ")";
        if (out) {
            j["connections"] = out->connections;
            j["children"] = out->children;
            if (a.out.empty())
                j["config"] = out->text;
            else
                j["output"] = a.out;
        }
        if (out && !a.out.empty())
            if (auto e = write_atomically(a.out, out->text, out->has_secrets); !e.empty())
                return error("export swanctl: " + e, kError);
        std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return out ? kOk : kError;
    }
    diags.print(std::cerr, text);
    if (!out) return kError;
    if (a.out.empty()) {
        std::cout << out->text;
        return kOk;
    }
    if (auto e = write_atomically(a.out, out->text, out->has_secrets); !e.empty())
        return error("export swanctl: " + e, kError);
    std::cerr << a.out << ": " << out->connections << " connection" << (out->connections == 1 ? "" : "s")
              << ", " << out->children << " child" << (out->children == 1 ? "" : "ren") << ", "
              << diags.warning_count() << " warning" << (diags.warning_count() == 1 ? "" : "s") << "\n";
    return kOk;
}

}  // namespace

void add_export(CLI::App& app, int& exit_code) {
    auto* exp = app.add_subcommand("export", "write the configuration of another program from a policy");
    exp->require_subcommand(1);
    auto args = std::make_shared<ExportArgs>();
    auto* cmd = exp->add_subcommand(
        "swanctl",
        "write a strongSwan swanctl.conf that negotiates the SAs the policy's secure filters require: one "
        "connection per secure action and peer, one child per secure filter (traffic selectors from its "
        "addresses, protocol and ports; mode from 'tunnel'; proposals, authentication and lifetimes from the "
        "action), start_action = trap. What strongSwan cannot express exactly (accept-clear, fallback-clear, "
        "ICMP type/code, one-way filters, 'me' without --local, very large sets) is a warning naming the "
        "filter "
        "and its file:line. Exit status 0 ok, 1 error (or a warning under --strict), 2 usage.");
    cmd->add_option("POLICY", args->file, "policy file (.pol)")->required();
    cmd->add_option("--local", args->local,
                    "this host's IKE address: local_addrs, and what 'me' means in the traffic selectors");
    cmd->add_option("-o,--output", args->out,
                    "write the configuration to FILE (replaced atomically; mode 0600 when it holds a "
                    "pre-shared key) instead of standard output");
    cmd->add_flag("--strict", args->strict, "what cannot be expressed exactly is an error, not a warning");
    add_json_flag(
        cmd, args->json,
        "print one JSON object: file, ok, errors, warnings, diagnostics[], then connections, children "
        "and config (the text) or output (the file written), or error");
    cmd->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace secpol::cli
