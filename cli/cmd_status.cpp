// `secpol status` (what is loaded where) and `secpol counters` (what each
// rule did). Both read the state in /run/secpol and the pinned maps; the JSON
// shapes are documented in docs/runtime.md.
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <ctime>
#include <iostream>
#include <memory>

#include "commands.h"
#include "loaded_read.h"
#include "log.h"
#include "output.h"
#include "runtime/confirm.h"
#include "runtime/counters_render.h"
#include "runtime/lock.h"
#include "runtime/metrics.h"
#include "runtime/netif.h"
#include "runtime/state.h"
#include "runtime/swap.h"

namespace secpol::cli {

namespace {

using nlohmann::json;

int fail(const Error& e) {
    return error(e);
}

// A run dir or pin this user may not read: say what is missing, in one line.
Error privileged(const std::string& what, const Error& e) {
    if (e.err == EACCES || e.err == EPERM) {
        auto p = rt::require_privileges(what);
        if (!p) return p.error();
        return Error::msg(what + " needs root: " + e.message, e.err);
    }
    return e;
}

// Whether the programs the state names are the ones attached now (false
// after someone detached them, or when run from another network namespace).
json liveness(const rt::IfaceState& st) {
    json j = {{"xdp", false}, {"tc", false}};
    if (st.netns && st.netns != rt::netns_id()) {
        j["xdp"] = nullptr;
        j["tc"] = nullptr;
        j["note"] = "loaded from another network namespace";
        return j;
    }
    auto iface = rt::find_interface(st.iface);
    if (!iface) return j;
    if (auto x = rt::query_xdp(iface->ifindex))
        j["xdp"] = x->prog_id == st.ingress_prog_id && x->prog_id != 0;
    if (auto t = rt::tc_query_egress(iface->ifindex)) j["tc"] = *t == st.egress_prog_id && *t != 0;
    return j;
}

json status_json(const rt::IfaceState& st) {
    json live = liveness(st);
    json j = {{"interface", st.iface},
              {"ifindex", st.ifindex},
              {"policy", st.label},
              {"policy_file", st.policy_file},
              {"rules", st.nrules},
              {"loaded_at", rt::format_time(st.loaded_at)},
              {"loaded_at_unix", st.loaded_at},
              {"generation", st.generation},
              {"xdp",
               {{"mode", st.xdp_mode},
                {"prog_id", st.ingress_prog_id},
                {"link_id", st.xdp_link_id},
                {"attached", live["xdp"]}}},
              {"tc",
               {{"prog_id", st.egress_prog_id},
                {"handle", st.tc_handle},
                {"priority", st.tc_priority},
                {"attached", live["tc"]}}},
              {"local_addresses", st.local_addresses},
              {"local_broadcasts", st.local_broadcasts},
              {"pins", rt::pin_dir(st.iface)},
              {"state", rt::state_dir(st.iface)}};
    if (live.contains("note")) j["note"] = live["note"];
    // A `load --confirm` waiting for `secpol confirm`: null when none.
    j["pending_confirm"] = nullptr;
    if (auto p = rt::read_pending(st.iface); p && *p) j["pending_confirm"] = rt::pending_json(**p);
    // When the bound "me" set last changed: a load, or `secpol daemon` following the host.
    j["local_addresses_changed_at"] =
        rt::format_time(st.locals_changed_at ? st.locals_changed_at : st.loaded_at);
    return j;
}

int run_status(const std::string& dev, bool dev_given, bool as_json) {
    if (dev_given)
        if (auto v = rt::validate_ifname(dev); !v) return fail(v.error());
    // A run dir this user cannot list would read as "nothing loaded".
    if (::access(rt::run_dir().c_str(), R_OK | X_OK) != 0 && (errno == EACCES || errno == EPERM))
        return fail(privileged("secpol status", Error::sys(errno, rt::run_dir())));
    std::vector<std::string> names = !dev_given ? rt::list_state_ifaces() : std::vector<std::string>{dev};
    json list = json::array();
    for (const auto& n : names) {
        auto st = rt::read_state(n);
        if (!st) return fail(privileged("secpol status", st.error()));
        if (!*st) {
            if (dev_given) return fail(Error::msg(dev + ": no secpol policy loaded", ENOENT));
            continue;
        }
        list.push_back(status_json(**st));
    }
    if (as_json) {
        std::cout << json{{"format", "secpol-status-1"}, {"interfaces", list}}.dump(2) << "\n";
        return 0;
    }
    if (list.empty()) {
        std::printf("no secpol policy loaded\n");
        return 0;
    }
    std::printf("%-15s %-32s %-20s %-5s %-8s %8s %8s %8s %s\n", "INTERFACE", "POLICY", "LOADED", "RULES",
                "XDP", "XDP-PROG", "LINK", "TC-PROG", "ATTACHED");
    for (const auto& j : list) {
        auto flag = [](const json& v) { return v.is_null() ? "?" : v.get<bool>() ? "yes" : "NO"; };
        std::string attached =
            std::string("xdp ") + flag(j["xdp"]["attached"]) + ", tc " + flag(j["tc"]["attached"]);
        std::printf("%-15s %-32s %-20s %-5u %-8s %8u %8u %8u %s\n", j["interface"].get<std::string>().c_str(),
                    j["policy"].get<std::string>().c_str(), j["loaded_at"].get<std::string>().c_str(),
                    j["rules"].get<unsigned>(), j["xdp"]["mode"].get<std::string>().c_str(),
                    j["xdp"]["prog_id"].get<unsigned>(), j["xdp"]["link_id"].get<unsigned>(),
                    j["tc"]["prog_id"].get<unsigned>(), attached.c_str());
        // `me` as bound at load: empty means filters `to me` / `from me` match nothing.
        std::string me;
        for (const auto& a : j["local_addresses"]) me += (me.empty() ? "" : " ") + a.get<std::string>();
        for (const auto& a : j["local_broadcasts"])
            me += (me.empty() ? "" : " ") + a.get<std::string>() + "(broadcast)";
        std::printf("  local addresses (me): %s\n", me.empty() ? "none: `me` matches nothing" : me.c_str());
        if (const json& pc = j["pending_confirm"]; !pc.is_null()) {
            std::string back = pc["revert_to"].is_null()
                                   ? std::string("unloads")
                                   : "puts back \"" + pc["revert_to"]["policy"].get<std::string>() + "\"";
            std::printf(
                "  pending confirmation: %s at %s (in %lld s) unless `secpol confirm --dev %s`%s\n",
                back.c_str(), pc["deadline"].get<std::string>().c_str(),
                static_cast<long long>(pc["seconds_left"].get<int64_t>()),
                j["interface"].get<std::string>().c_str(),
                pc["timer_running"].get<bool>() ? "" : " (its timer is NOT running: nothing will revert)");
        }
    }
    return 0;
}

volatile std::sig_atomic_t g_stop = 0;

struct CountersArgs {
    std::string dev;
    bool dev_given = false;  // --dev '' is an invalid name, not a missing option
    bool json = false;
    double watch = 0;
    bool reset = false;
    std::string format = "table";
    std::string output;
};

// What a counters read holds: the state, its rules (typed, not a DOM: 100,000
// rules stay cheap) and the counter totals.
struct CountersRead {
    rt::IfaceState st;
    rt::RuleTable table;
    rt::Slots totals;
    int64_t read_at = 0;
};

Result<CountersRead> read_counters(const std::string& dev) {
    auto r = read_loaded(dev, "secpol counters");
    if (!r) return r.error();
    return CountersRead{std::move(r->st), std::move(r->table), std::move(r->totals), ::time(nullptr)};
}

int run_reset(const std::string& dev) {
    if (auto r = rt::require_privileges(dev + ": secpol counters --reset"); !r) return fail(r.error());
    auto lock = rt::InterfaceLock::acquire(dev);
    if (!lock) return fail(Error{lock.error().err, dev + ": " + lock.error().message});
    auto st = rt::read_state(dev);
    if (!st) return fail(st.error());
    if (!*st) return fail(Error::msg(dev + ": no secpol policy loaded", ENOENT));
    auto& s = **st;
    // Offsets that cancel what the map holds now; the map itself is not written.
    auto live = rt::read_live(s);
    if (!live) return fail(live.error());
    s.offsets = rt::reset_offsets(*live);
    if (auto r = rt::write_state(s); !r) return fail(r.error());
    std::printf("%s: counters reset\n", dev.c_str());
    return 0;
}

// The Prometheus text format, for the node exporter's textfile collector:
// with --output, written to FILE.tmp and renamed, so the collector never
// reads half a file.
int run_prometheus(const std::string& dev, const std::string& output) {
    std::vector<std::string> errors;
    // Read whole, then written as rendered (~140 MB at 100,000 rules).
    auto snap =
        rt::read_metrics(dev.empty() ? std::vector<std::string>{} : std::vector<std::string>{dev}, &errors);
    for (const auto& e : errors) log::write(log::Error, "%s\n", e.c_str());
    if (!errors.empty() && !dev.empty()) return 1;
    if (output.empty()) {
        std::cout << std::flush;
        rt::TextOut o(stdout);
        snap.write(o);
        o.flush();
        std::fflush(stdout);
    } else {
        std::string tmp = output + ".tmp";
        std::FILE* f = std::fopen(tmp.c_str(), "w");
        bool good = f != nullptr;
        if (f) {
            rt::TextOut o(f);
            snap.write(o);
            good = o.flush();
        }
        if (f && std::fclose(f) != 0) good = false;
        if (!good || std::rename(tmp.c_str(), output.c_str()) != 0) {
            int e = errno;
            std::remove(tmp.c_str());
            return fail(Error::sys(e, "write " + output));
        }
    }
    return errors.empty() ? 0 : 1;
}

int run_counters(const CountersArgs& a) {
    if (a.dev_given)
        if (auto v = rt::validate_ifname(a.dev); !v) return fail(v.error());
    if (a.format == "prometheus") return run_prometheus(a.dev, a.output);
    if (!a.output.empty()) return error("--output goes with --format prometheus", kUsage);
    if (a.dev.empty()) return error("counters: --dev is required (but for --format prometheus)", kUsage);
    if (a.reset) return run_reset(a.dev);
    if (a.watch > 0) {
        std::signal(SIGINT, [](int) { g_stop = 1; });
        std::signal(SIGTERM, [](int) { g_stop = 1; });
    }
    do {
        auto c = read_counters(a.dev);
        if (!c) return fail(c.error());
        // Written as rendered: ~70 MB of JSON at 100,000 rules.
        rt::TextOut o(stdout);
        if (a.json || a.format == "json") {
            // Under --watch: one document per line (JSON Lines).
            rt::write_counters_json(o, c->st, c->table, c->totals, c->read_at, a.watch > 0 ? -1 : 2);
            o << '\n';
        } else {
            if (a.watch > 0 && isatty(STDOUT_FILENO)) o << "\033[H\033[2J";
            rt::write_counters_table(o, c->st, c->table, c->totals, c->read_at);
            if (a.watch > 0) o << "\n";
        }
        o.flush();
        std::fflush(stdout);
        if (a.watch <= 0) break;
        timespec ts{static_cast<time_t>(a.watch),
                    static_cast<long>((a.watch - static_cast<time_t>(a.watch)) * 1e9)};
        while (!g_stop && nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    } while (!g_stop);
    return 0;
}

}  // namespace

void add_status(CLI::App& app, int& exit_code) {
    struct StatusArgs {
        std::string dev;
        bool json = false;
    };
    auto s = std::make_shared<StatusArgs>();
    auto* status =
        app.add_subcommand("status", "Interfaces with a secpol policy: label, load time, programs");
    auto* dev_opt = status->add_option("--dev", s->dev, "only this interface");
    add_json_flag(status, s->json, "JSON output (format secpol-status-1)");
    status->callback(
        [s, dev_opt, &exit_code] { exit_code = run_status(s->dev, dev_opt->count() > 0, s->json); });

    auto c = std::make_shared<CountersArgs>();
    auto* counters = app.add_subcommand("counters", "Per-rule and per-exemption packet and byte counters");
    auto* counters_dev =
        counters->add_option("--dev", c->dev, "interface (with --format prometheus: all when not given)");
    counters
        ->add_option("--format", c->format, "table, json (= --json) or prometheus (text exposition format)")
        ->check(CLI::IsMember({"table", "json", "prometheus"}));
    counters->add_option(
        "--output", c->output,
        "with --format prometheus: write FILE atomically (node exporter textfile collector)");
    add_json_flag(counters, c->json, "JSON output (format secpol-counters-1)");
    counters->add_option("--watch", c->watch, "print again every SECONDS until interrupted")
        ->check(CLI::PositiveNumber);
    counters->add_flag("--reset", c->reset,
                       "start counting from zero (the kernel's counters are not written)");
    counters->callback([c, counters_dev, &exit_code] {
        c->dev_given = counters_dev->count() > 0;
        exit_code = run_counters(*c);
    });
}

}  // namespace secpol::cli
