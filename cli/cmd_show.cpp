// `secpol show --dev IFACE`: the loaded policy listed like `nft list
// ruleset`, each filter's source text with its counters inline
// (runtime/show_render.h).
#include <ctime>
#include <iostream>
#include <memory>

#include "commands.h"
#include "loaded_read.h"
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

// The state, its rules (typed, not a DOM: 100,000 rules stay cheap), the
// counter totals and the document without its rules, which the writers
// stream them into.
struct ShowRead {
    rt::IfaceState st;
    rt::RuleTable table;
    rt::Slots totals;
    nlohmann::json head;
};

Result<ShowRead> read_show(const std::string& dev) {
    auto r = read_loaded(dev, "secpol show");
    if (!r) return r.error();
    auto& [st, table, totals] = *r;
    rt::ShowFacts facts;
    if (!st.netns || st.netns == rt::netns_id())
        if (auto iface = rt::find_interface(dev))
            if (auto link = rt::link_of(*iface)) facts.link = ref::link_name(*link);
    if (auto p = rt::prog_info_by_id(st.ingress_prog_id)) facts.ingress_prog = p->name;
    if (auto p = rt::prog_info_by_id(st.egress_prog_id)) facts.egress_prog = p->name;
    auto head =
        rt::show_head(st, table.policy, rt::counters_head(st, table.policy, totals, ::time(nullptr)), facts);
    head["pending_confirm"] = nullptr;
    if (auto p = rt::read_pending(dev); p && *p) head["pending_confirm"] = rt::pending_json(**p);
    return ShowRead{std::move(st), std::move(table), std::move(totals), std::move(head)};
}

int run_show(const std::string& dev, bool as_json) {
    if (auto v = rt::validate_ifname(dev); !v) return error(v.error());
    auto s = read_show(dev);
    if (!s) return error(s.error());
    // Written as rendered: ~80 MB of JSON at 100,000 rules.
    rt::TextOut o(stdout);
    if (as_json) {
        rt::write_show_json(o, s->head, 2, s->st, s->table, s->totals);
        o << '\n';
    } else {
        rt::write_show_text(o, s->head, s->st, s->table, s->totals);
    }
    o.flush();
    std::fflush(stdout);
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
