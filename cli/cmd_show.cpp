// `secpol show --dev IFACE`: the loaded policy listed like `nft list
// ruleset`, each filter's source text with its counters inline
// (runtime/show_render.h).
#include <ctime>
#include <iostream>
#include <memory>

#include "commands.h"
#include "output.h"
#include "runtime/attach.h"
#include "runtime/confirm.h"
#include "runtime/counters_render.h"
#include "runtime/lock.h"
#include "runtime/netif.h"
#include "runtime/show_render.h"
#include "runtime/state.h"
#include "runtime/swap.h"

namespace secpol::cli {

namespace {

Result<nlohmann::json> show_doc(const std::string& dev) {
    if (auto r = rt::require_privileges(dev + ": secpol show"); !r) return r.error();
    // Shared, as counters: a swap in progress finishes (and moves its offsets) first.
    auto lock = rt::InterfaceLock::acquire(dev, rt::InterfaceLock::Mode::Shared);
    if (!lock)
        return lock.error().err == ENOENT ? Error::msg(dev + ": no secpol policy loaded", ENOENT)
                                          : Error{lock.error().err, dev + ": " + lock.error().message};
    auto st = rt::read_state(dev);
    if (!st) return st.error();
    if (!*st) return Error::msg(dev + ": no secpol policy loaded", ENOENT);
    if (auto r = rt::load_meta(**st); !r) return r.error();
    auto totals = rt::read_totals(**st);
    if (!totals) return totals.error();
    rt::ShowFacts facts;
    if (!(*st)->netns || (*st)->netns == rt::netns_id())
        if (auto iface = rt::find_interface(dev))
            if (auto link = rt::link_of(*iface)) facts.link = ref::link_name(*link);
    if (auto p = rt::prog_info_by_id((*st)->ingress_prog_id)) facts.ingress_prog = p->name;
    if (auto p = rt::prog_info_by_id((*st)->egress_prog_id)) facts.egress_prog = p->name;
    auto doc = rt::show_json(**st, rt::counters_json(**st, *totals, ::time(nullptr)), facts);
    doc["pending_confirm"] = nullptr;
    if (auto p = rt::read_pending(dev); p && *p) doc["pending_confirm"] = rt::pending_json(**p);
    return doc;
}

int run_show(const std::string& dev, bool as_json) {
    if (auto v = rt::validate_ifname(dev); !v) return error(v.error());
    auto doc = show_doc(dev);
    if (!doc) return error(doc.error());
    if (as_json)
        std::cout << doc->dump(2) << std::endl;
    else
        std::cout << rt::show_text(*doc) << std::flush;
    return kOk;
}

}  // namespace

void add_show(CLI::App& app, int& exit_code) {
    struct Args {
        std::string dev;
        bool json = false;
    };
    auto a = std::make_shared<Args>();
    auto* show = app.add_subcommand(
        "show",
        "List the loaded policy like `nft list ruleset`: each filter's text with its counters, "
        "exemptions, default, programs, `me`");
    show->add_option("--dev", a->dev, "interface")->required();
    add_json_flag(show, a->json,
                  "JSON output (format secpol-show-1: the counters document plus filter text)");
    show->callback([a, &exit_code] { exit_code = run_show(a->dev, a->json); });
}

}  // namespace secpol::cli
