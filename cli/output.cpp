#include "output.h"

#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "log.h"

namespace secpol::cli {

namespace {
bool g_json = false;
}

bool json_errors() {
    return g_json;
}
void set_json_errors(bool on) {
    g_json = on;
}

int error(const std::string& message, int code) {
    auto nl = message.find('\n');
    std::string head = message.substr(0, nl);
    if (g_json) {
        std::cout << nlohmann::json{{"error", head}}.dump(-1, ' ', false,
                                                          nlohmann::json::error_handler_t::replace)
                  << std::endl;
    } else {
        log::write(log::Error, "%s\n", head.c_str());
    }
    if (nl != std::string::npos) log::write(log::Info, "%s\n", message.substr(nl + 1).c_str());
    return code;
}

int error(const Error& e, int code) {
    return error(e.message, code);
}

CLI::Option* add_json_flag(CLI::App* cmd, bool& flag, const std::string& help) {
    return cmd->add_flag("--json", flag, help + "; errors as {\"error\": \"...\"} on stdout");
}

int run(CLI::App& app, int argc, char** argv, const int& exit_code) {
    // Known before parsing, so that a usage error of `VERB ... --json` is JSON too.
    for (int i = 1; i < argc && std::strcmp(argv[i], "--") != 0; ++i)
        if (std::strcmp(argv[i], "--json") == 0) g_json = true;
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        // Every other CLI11 exit (105-114: bad value, missing argument, unknown option) is a usage error.
        if (g_json) {
            error(e.what(), kUsage);
        } else {
            log::write(log::Error, "%s\n", e.what());
            std::cerr << "Run with --help for more information.\n";
        }
        return kUsage;
    }
    return exit_code;
}

}  // namespace secpol::cli
