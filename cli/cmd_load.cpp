// `secpol load` and `secpol unload`: put a policy on an interface (compiling
// it first when given policy text), replace one atomically, take it off.
#include <bpf/libbpf.h>
#include <elf.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <set>

#include "backend/compile.h"
#include "commands.h"
#include "load_common.h"
#include "log.h"
#include "output.h"
#include "runtime/confirm.h"
#include "runtime/guard.h"
#include "runtime/input.h"
#include "runtime/lock.h"
#include "runtime/log_ring.h"
#include "runtime/netif.h"
#include "runtime/program.h"
#include "runtime/rule_table.h"
#include "runtime/swap.h"
#include "ssh_guard.h"

namespace secpol::cli {

namespace {

struct LoadArgs {
    std::string file;
    std::string dev;
    std::string mode = "auto";
    std::vector<std::string> local;
    bool json = false;
    bool dry_run = false;
    unsigned confirm = 0;  // --confirm SECONDS (0: not given)
};

struct UnloadArgs {
    std::string dev;
    bool dev_given = false;  // --dev '' is an invalid name, not a missing option
    bool all = false;
    bool json = false;
};

// Prints one error line (JSON under --json). Detail after the first line (a verifier log) only at -v.
int fail(const Error& e) {
    return error(e);
}

}  // namespace

Result<net::LocalTable> locals_from(const std::vector<std::string>& specs, const std::string& dev) {
    net::LocalTable t;
    bool want_auto = specs.empty();
    for (const auto& s : specs) {
        if (s == "auto") {
            want_auto = true;
        } else if (!t.add(s)) {
            return Error::msg("--local: '" + s + "' is not an address (ADDR or ADDR/LEN)", EINVAL);
        }
    }
    if (want_auto) {
        auto host = rt::host_locals();
        if (!host) return host.error();
        t.addrs.insert(host->addrs.begin(), host->addrs.end());
        t.broadcasts.insert(host->broadcasts.begin(), host->broadcasts.end());
        // `me` bound to nothing on this link is legal but almost never meant.
        auto own = rt::interface_addresses(dev);
        if (own && own->empty())
            log::write(
                log::Warn, "%s: --local auto: %s has no IP address, so `me` %s\n", dev.c_str(), dev.c_str(),
                t.addrs.empty() ? "matches nothing"
                                : "is only the addresses of the other interfaces (see `secpol status`)");
    }
    return t;
}

namespace {

// What load works from: the object, and the policy's IR when it was
// compiled here (an object read as is has only its source).
struct Input {
    backend::ObjectImage image;
    std::optional<ir::Policy> policy;
};

// The policy compiled in-process, or a compiled object read as is ("-": standard input).
Result<Input> image_of(const std::string& path, const std::string& dev) {
    auto bytes = rt::read_input(path);
    if (!bytes) return Error{bytes.error().err, dev + ": " + bytes.error().message};
    const std::string name = rt::input_name(path);
    if (rt::is_elf(*bytes)) {
        auto img = backend::ObjectImage::from_bytes(std::vector<uint8_t>(bytes->begin(), bytes->end()));
        if (!img) return Error{img.error().err, dev + ": " + name + ": " + img.error().message};
        return Input{std::move(*img), std::nullopt};
    }
    front::Diagnostics diags;
    auto c = backend::compile_policy_text(*bytes, name, diags);
    if (!c) return Error{c.error().err, dev + ": " + c.error().message};
    if (!diags.all().empty()) diags.print(std::cerr, *bytes);
    if (!*c) return Error::msg(dev + ": " + name + ": policy has errors, nothing loaded", EINVAL);
    return Input{std::move((*c)->image), std::move((*c)->policy)};
}

std::vector<std::string> addr_strings(const std::set<net::Addr>& s) {
    std::vector<std::string> out;
    for (const auto& a : s) out.push_back(net::addr_str(a));
    return out;
}

std::string map_pin_name(const char* name) {
    std::string n = name;
    for (char& c : n)
        if (c == '.') c = '_';
    return n;
}

}  // namespace

// SECPOL_FAULT=verifier: makes the first instruction of secpol_ingress read
// an uninitialised register, so the kernel's verifier really rejects the
// object (tests of the rejection path; no policy provokes one on purpose).
void inject_verifier_fault(std::vector<uint8_t>& elf) {
    if (elf.size() < sizeof(Elf64_Ehdr)) return;
    auto* eh = reinterpret_cast<Elf64_Ehdr*>(elf.data());
    if (eh->e_shoff + uint64_t{eh->e_shnum} * sizeof(Elf64_Shdr) > elf.size() ||
        eh->e_shstrndx >= eh->e_shnum)
        return;
    auto* sh = reinterpret_cast<Elf64_Shdr*>(elf.data() + eh->e_shoff);
    const char* names = reinterpret_cast<const char*>(elf.data() + sh[eh->e_shstrndx].sh_offset);
    for (unsigned i = 0; i < eh->e_shnum; ++i) {
        if (std::strcmp(names + sh[i].sh_name, "xdp") != 0 || sh[i].sh_size < 8) continue;
        const uint8_t bad[8] = {0x79, 0x90, 0, 0, 0, 0, 0, 0};  // r0 = *(u64 *)(r9 + 0)
        std::memcpy(elf.data() + sh[i].sh_offset, bad, sizeof bad);
    }
}

Result<std::unique_ptr<rt::LoadedPolicy>> verify_image(const std::string& dev,
                                                       const backend::ObjectImage& img,
                                                       const net::LocalTable& locals, ref::Link link) {
    rt::LoadOptions lo;
    lo.link = link;
    // A swap keeps the log ring, so a running `secpol log` reads on.
    rt::UniqueFd ring;
    if (auto r = rt::open_pin(rt::pin_path(dev, rt::kPinLogRing)); r) ring = std::move(*r);
    lo.reuse_log_ring = ring ? ring.get() : -1;
    auto lp = rt::LoadedPolicy::load(img, locals, lo);
    if (lp) return std::move(*lp);
    const Error& e = lp.error();
    auto nl = e.message.find('\n');
    std::string head = e.message.substr(0, nl);
    // The kernel says EACCES ("Permission denied") for a rejected program, which reads like a privilege
    // problem.
    std::string why = e.err && e.err != EACCES ? std::string(" (") + std::strerror(e.err) + ")" : "";
    if (head.find("verifier") != std::string::npos) {
        // The verifier log is long; -v shows its last lines.
        return Error{e.err, dev + ": the BPF verifier rejected the policy program" + why +
                                "; nothing changed (-v shows its log)" +
                                (nl != std::string::npos ? "\n" + e.message.substr(nl + 1) : std::string())};
    }
    return Error{e.err, dev + ": " + e.message};
}

Result<rt::PolicyHandles> handles_of(const std::string& dev, const rt::LoadedPolicy& lp,
                                     const backend::ObjectImage& img, ref::Link link,
                                     const net::LocalTable& locals,
                                     const std::vector<std::string>& local_spec,
                                     const std::string& policy_file) {
    rt::PolicyHandles h;
    h.ingress_fd = lp.ingress_fd();
    h.egress_fd = lp.egress_fd();
    h.counters_fd = lp.map_fd(SECPOL_MAP_COUNTERS);
    bpf_map* m = nullptr;
    bpf_object__for_each_map(m, lp.object())
        h.maps.emplace_back(map_pin_name(bpf_map__name(m)), bpf_map__fd(m));
    // meta.json's bytes and the rows the carry-over needs, straight from
    // the typed meta: no JSON document of 100,000 rules.
    h.meta_text = img.meta.dump(false) + "\n";
    h.source = img.meta.source;
    h.rules = rt::rule_rows(img.meta);
    h.nrules = img.config().nrules;
    h.label = img.meta.policy.label;
    h.policy_file = policy_file;
    h.local_addresses = addr_strings(locals.addrs);
    h.local_broadcasts = addr_strings(locals.broadcasts);
    h.local_spec = local_spec.empty() ? std::vector<std::string>{"auto"} : local_spec;
    if (h.ingress_fd < 0 || h.egress_fd < 0 || h.counters_fd < 0)
        return Error::msg(dev + ": object lacks " + rt::ingress_prog_name(link) + ", " +
                              rt::egress_prog_name(link) + " or secpol_counters",
                          EINVAL);
    return h;
}

namespace {

// The object `load --confirm` keeps to put the current policy back: its
// source (policy.pol) compiled again, as the earlier load compiled it.
Result<std::vector<uint8_t>> previous_object(const std::string& dev, const rt::IfaceState& st) {
    auto src = rt::read_input(rt::state_dir(dev) + "/policy.pol");
    if (!src || src->empty())
        return Error::msg(dev + ": the policy loaded there has no source (" + rt::state_dir(dev) +
                              "/policy.pol), so --confirm could not put it back; nothing loaded",
                          ENOENT);
    front::Diagnostics diags;
    auto c = backend::compile_policy_text(*src, rt::input_name(st.policy_file), diags);
    if (!c || !*c)
        return Error::msg(dev + ": the policy loaded there (" + st.policy_file +
                              ") does not compile again, so --confirm could not put it back; nothing loaded",
                          EINVAL);
    return std::move((*c)->image.elf);
}

// --local of the earlier load; states written before it was recorded: the addresses `me` was bound to.
std::vector<std::string> previous_local_spec(const rt::IfaceState& st) {
    if (!st.local_spec.empty()) return st.local_spec;
    std::vector<std::string> out = st.local_addresses;
    return out.empty() ? std::vector<std::string>{"auto"} : out;
}

// Blocks the signals that end a process with its terminal, for its life.
class HoldSignals {
  public:
    HoldSignals() {
        sigset_t s;
        sigemptyset(&s);
        for (int sig : {SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGPIPE}) sigaddset(&s, sig);
        sigprocmask(SIG_BLOCK, &s, &old_);
    }
    ~HoldSignals() { sigprocmask(SIG_SETMASK, &old_, nullptr); }
    HoldSignals(const HoldSignals&) = delete;
    HoldSignals& operator=(const HoldSignals&) = delete;

  private:
    sigset_t old_;
};

int run_load(const LoadArgs& a) {
    if (auto v = rt::validate_ifname(a.dev); !v) return fail(v.error());
    if (a.confirm && a.dry_run) return error("load: --confirm and --dry-run exclude each other", kUsage);
    if (auto r = rt::require_privileges(a.dev + ": secpol load"); !r) return fail(r.error());
    if (auto r = rt::check_host_bpffs(); !r)
        return fail(Error{r.error().err, a.dev + ": " + r.error().message});
    auto iface = rt::find_interface(a.dev);
    if (!iface) return fail(iface.error());
    // Before the lock and the verifier: a device whose packets secpol
    // cannot parse is refused with nothing touched.
    auto link = rt::link_of(*iface);
    if (!link) return fail(link.error());
    auto lock = rt::InterfaceLock::acquire(a.dev);
    if (!lock) return fail(Error{lock.error().err, a.dev + ": " + lock.error().message});
    rt::kill_point("locked");
    // Refuse foreign programs before spending time compiling and verifying.
    auto cur = rt::inspect(*iface);
    if (!cur) return fail(cur.error());

    auto in = image_of(a.file, a.dev);
    if (!in) return fail(in.error());
    backend::ObjectImage* img = &in->image;
    auto locals = locals_from(a.local, a.dev);
    if (!locals) return fail(Error{locals.error().err, a.dev + ": " + locals.error().message});
    if (rt::fault("verifier")) inject_verifier_fault(img->elf);
    auto lp = verify_image(a.dev, *img, *locals, *link);
    if (!lp) return fail(lp.error());
    rt::UniqueFd old_rate;
    if (cur->state)
        if (auto r = rt::open_pin(rt::pin_path(a.dev, rt::kPinLogRate)); r) old_rate = std::move(*r);

    rt::kill_point("verified");
    if (old_rate && img->meta.has_log()) {
        // Rate state of the rules the new policy continues (a failure only
        // costs a fresh burst, never the load).
        auto old = rt::read_rule_table(*cur->state, rt::RuleFields::Lenient);
        Status carried = old ? rt::carry_log_buckets(old_rate.get(), old->rules,
                                                     (*lp)->map_fd(SECPOL_MAP_LOG_RATE), img->meta)
                             : Status(old.error());
        if (!carried)
            log::write(log::Warn, "%s: log rate limits start afresh: %s\n", a.dev.c_str(),
                       carried.error().message.c_str());
    }
    // Warn while there is still time to stop. An object read as is carries
    // its source, compiled again for this; a policy compiled above is not.
    {
        if (!in->policy) {
            front::Diagnostics d;
            in->policy = front::compile_text(img->meta.source, a.file, d);
        }
        if (in->policy)
            for (const auto& w : ssh_warnings(*in->policy, *locals)) std::cerr << a.dev << ": " << w << "\n";
    }
    if (a.dry_run) {
        auto in = (*lp)->prog_stats(SECPOL_DIR_IN), out = (*lp)->prog_stats(SECPOL_DIR_OUT);
        if (a.json) {
            std::cout << nlohmann::json{{"dev", a.dev},
                                        {"dry_run", true},
                                        {"label", img->meta.policy.label},
                                        {"rules", img->config().nrules},
                                        {"verified_insns",
                                         {{"xdp", in ? in->verified_insns : 0},
                                          {"tc", out ? out->verified_insns : 0}}}}
                             .dump()
                      << "\n";
            return 0;
        }
        std::printf(
            "%s: dry run: policy \"%s\" (%u rules) compiled and passed the verifier (XDP %u, tc %u "
            "instructions verified); nothing attached\n",
            a.dev.c_str(), img->meta.policy.label.c_str(), img->config().nrules, in ? in->verified_insns : 0,
            out ? out->verified_insns : 0);
        return 0;
    }

    auto h = handles_of(a.dev, **lp, *img, *link, *locals, a.local, a.file);
    if (!h) return fail(h.error());

    // xdp-loader's names (skb, hw) are accepted too; this loader has no offload.
    rt::XdpMode mode = a.mode == "native"                       ? rt::XdpMode::Native
                       : a.mode == "generic" || a.mode == "skb" ? rt::XdpMode::Generic
                                                                : rt::XdpMode::Auto;
    if (a.mode == "hw")
        return fail(Error::msg(
            a.dev + ": --xdp-mode hw (offload): secpol's programs cannot be offloaded to a NIC", EOPNOTSUPP));

    // A pending `load --confirm`: a second one keeps its revert target (the
    // last confirmed policy) and restarts the deadline; a load without
    // --confirm makes its policy the confirmed one.
    auto pending = rt::read_pending(a.dev);
    if (!pending) return fail(pending.error());
    rt::PendingConfirm p;
    bool wrote_object = false;
    if (a.confirm > 0) {
        p.iface = a.dev;
        if (*pending) {
            p.has_previous = (*pending)->has_previous;
            p.prev_label = (*pending)->prev_label;
            p.prev_policy_file = (*pending)->prev_policy_file;
            p.prev_local_spec = (*pending)->prev_local_spec;
            p.restore = (*pending)->restore;
        } else if (cur->ours && cur->state) {
            // Written before anything changes: without it there is no way back, and nothing is loaded.
            auto elf = previous_object(a.dev, *cur->state);
            if (!elf) return fail(elf.error());
            if (auto r = rt::write_confirm_object(a.dev, *elf); !r)
                return fail(Error{r.error().err, a.dev + ": " + r.error().message + "; nothing loaded"});
            wrote_object = true;
            p.has_previous = true;
            p.prev_label = cur->state->label;
            p.prev_policy_file = cur->state->policy_file;
            p.prev_local_spec = previous_local_spec(*cur->state);
        }
    }

    // With --confirm, the death of the terminal or SSH session (SIGHUP) between
    // the swap and the start of the timer would leave the new policy with no
    // way back: such signals wait until the timer runs (SIGKILL aside).
    std::optional<HoldSignals> hold;
    if (a.confirm > 0) hold.emplace();
    auto res = rt::install(*cur, *h, mode);
    if (!res) {
        if (wrote_object) ::unlink(rt::confirm_object_path(a.dev).c_str());
        return fail(res.error());
    }
    const auto& st = res->state;
    std::string confirm_note;
    if (a.confirm > 0) {
        int64_t now = rt::now_ms();
        p.token = rt::new_token();
        p.started_at = now / 1000;
        p.seconds = a.confirm;
        p.deadline_ms = now + int64_t{a.confirm} * 1000;
        p.new_ingress_prog_id = st.ingress_prog_id;
        p.new_label = st.label;
        if (!*pending && p.has_previous)
            p.restore = rt::restore_entries(res->old_rules, res->old_totals, h->rules);
        // No timer, no safety net: put the previous policy back now rather than leave this one unconfirmed.
        Status armed = rt::write_pending(p);
        if (armed) armed = start_confirm_timer(p);
        if (armed) armed = rt::write_pending(p);
        if (!armed) {
            auto rv = revert_pending(a.dev, p);
            return fail(
                Error{armed.error().err, a.dev + ": --confirm: " + armed.error().message + "; " +
                                             (rv ? *rv : "and the revert failed: " + rv.error().message)});
        }
        if (*pending) rt::wake_timer(**pending);  // its token is no longer the pending one: it exits
        hold.reset();
        confirm_note = p.has_previous ? "reverts to policy \"" + p.prev_label + "\"" : "unloads";
    } else if (*pending) {
        if (auto r = rt::cancel_pending(a.dev); !r)
            log::write(log::Warn, "%s: %s\n", a.dev.c_str(), r.error().message.c_str());
        log::write(log::Warn,
                   "%s: the pending confirmation of \"%s\" is cancelled: a load without --confirm is "
                   "confirmed\n",
                   a.dev.c_str(), (*pending)->new_label.c_str());
    } else {
        ::unlink(rt::confirm_object_path(a.dev).c_str());  // left by a load --confirm killed mid-swap
    }
    if (a.json) {
        nlohmann::json j = {
            {"interface", a.dev},
            {"action", res->replaced ? "replaced" : "loaded"},
            {"policy", st.label},
            {"rules", st.nrules},
            {"generation", st.generation},
            {"xdp", {{"mode", st.xdp_mode}, {"prog_id", st.ingress_prog_id}, {"link_id", st.xdp_link_id}}},
            {"tc", {{"prog_id", st.egress_prog_id}}},
            {"link", ref::link_name(*link)},
            {"local_addresses", st.local_addresses},
            {"local_broadcasts", st.local_broadcasts}};
        if (res->replaced) {
            const char* dir[2] = {"in", "out"};
            for (int d = 0; d < 2; ++d) {
                j["carried"][dir[d]] = {{"packets", res->carried[d].packets},
                                        {"bytes", res->carried[d].bytes}};
                j["retired"][dir[d]] = {{"packets", res->retired[d].packets},
                                        {"bytes", res->retired[d].bytes}};
            }
        }
        if (a.confirm > 0) j["pending_confirm"] = rt::pending_json(p);
        std::cout << j.dump(2) << std::endl;
        return kOk;
    }
    std::printf("%s: %s policy \"%s\" (%u rules): XDP %s prog %u (link %u), tc egress prog %u%s\n",
                a.dev.c_str(), res->replaced ? "replaced with" : "loaded", st.label.c_str(), st.nrules,
                st.xdp_mode.c_str(), st.ingress_prog_id, st.xdp_link_id, st.egress_prog_id,
                *link == ref::Link::L3 ? " (IP device: packets start at the IP header)" : "");
    if (res->replaced)
        std::printf(
            "%s: counters carried over: in %lld packets, out %lld packets; retired (rules gone): in %lld, "
            "out %lld\n",
            a.dev.c_str(), static_cast<long long>(res->carried[0].packets),
            static_cast<long long>(res->carried[1].packets), static_cast<long long>(res->retired[0].packets),
            static_cast<long long>(res->retired[1].packets));
    if (a.confirm > 0)
        std::printf("%s: unconfirmed: %s at %s (in %u s) unless `secpol confirm --dev %s` comes first\n",
                    a.dev.c_str(), confirm_note.c_str(),
                    rt::format_time((p.deadline_ms + 999) / 1000).c_str(), a.confirm, a.dev.c_str());
    return kOk;
}

// Unloads one interface. Returns whether anything was there.
Result<bool> unload_one(const std::string& dev) {
    auto lock = rt::InterfaceLock::acquire(dev);
    if (!lock) return Error{lock.error().err, dev + ": " + lock.error().message};
    return rt::uninstall(dev);
}

// Every interface with a state or pins, in this network namespace.
std::vector<std::string> loaded_here() {
    std::set<std::string> names;
    for (const auto& n : rt::list_state_ifaces()) names.insert(n);
    for (const auto& n : rt::list_pin_ifaces()) names.insert(n);
    std::vector<std::string> out;
    for (const auto& n : names) {
        if (!rt::validate_ifname(n)) continue;
        auto st = rt::read_state(n);
        if (st && *st && (*st)->netns && (*st)->netns != rt::netns_id()) {
            log::write(log::Info, "%s: loaded from another network namespace; not unloading it here\n",
                       n.c_str());
            continue;
        }
        out.push_back(n);
    }
    return out;
}

int run_unload(const UnloadArgs& a) {
    if (a.all == a.dev_given) return error("unload: give --dev IFACE or --all", kUsage);
    if (!a.all)
        if (auto v = rt::validate_ifname(a.dev); !v) return fail(v.error());
    if (auto r = rt::require_privileges((a.all ? std::string("") : a.dev + ": ") + "secpol unload"); !r)
        return fail(r.error());
    std::vector<std::string> names = a.all ? loaded_here() : std::vector<std::string>{a.dev};
    nlohmann::json list = nlohmann::json::array();
    int rc = kOk;
    for (const auto& dev : names) {
        auto r = unload_one(dev);
        if (!r) {
            rc = fail(r.error());
            if (a.json) return rc;  // one document: the error
            continue;
        }
        list.push_back({{"interface", dev}, {"unloaded", *r}});
        if (!a.json)
            std::printf("%s: %s\n", dev.c_str(), *r ? "unloaded" : "no secpol policy (nothing to do)");
    }
    if (a.all && names.empty() && !a.json) std::printf("no secpol policy loaded\n");
    if (a.json) {
        if (a.all)
            std::cout << nlohmann::json{{"interfaces", list}}.dump(2) << std::endl;
        else
            std::cout << list[0].dump(2) << std::endl;
    }
    return rc;
}

}  // namespace

void add_load(CLI::App& app, int& exit_code) {
    auto a = std::make_shared<LoadArgs>();
    auto* load =
        app.add_subcommand("load", "Compile (if needed) and attach a policy: XDP ingress + tc egress");
    load->add_option("POLICY", a->file,
                     "policy file, or an object written by `secpol compile`; - reads standard input")
        ->required();
    load->add_option("--dev", a->dev, "interface")->required();
    load->add_option("--confirm", a->confirm,
                     "put the previous policy back (or unload, if there was none) after SECONDS unless "
                     "`secpol confirm --dev IFACE` comes first, as routers' commit confirmed")
        ->type_name("SECONDS")
        ->check(CLI::Range(1u, 86400u));
    load->add_flag(
        "--dry-run", a->dry_run,
        "compile and pass the kernel's verifier, then stop: nothing is attached, pinned or changed");
    load->add_option("--xdp-mode", a->mode,
                     "XDP attach mode: auto (native when the driver has it), native, generic; xdp-loader's "
                     "skb (= generic) and hw (offload: refused) are accepted too")
        ->check(CLI::IsMember({"auto", "native", "generic", "skb", "hw"}));
    load->add_option("--local", a->local,
                     "addresses that are 'me': auto (the kernel's, the default) and/or ADDR[/LEN] ...")
        ->expected(1, -1);
    add_json_flag(
        load, a->json,
        "one JSON object: interface, action (loaded|replaced), policy, rules, generation, xdp, tc, "
        "local_addresses, local_broadcasts, carried/retired after a swap, pending_confirm with --confirm");
    load->callback([a, &exit_code] { exit_code = run_load(*a); });

    auto u = std::make_shared<UnloadArgs>();
    auto* unload = app.add_subcommand(
        "unload",
        "Detach the policy of an interface, remove its pins, state, lock file and the clsact qdisc it made");
    auto* dev_opt = unload->add_option("--dev", u->dev, "interface");
    unload->add_flag("--all", u->all, "every interface with a secpol policy in this network namespace");
    add_json_flag(unload, u->json, "{\"interface\", \"unloaded\"} ({\"interfaces\": [...]} with --all)");
    unload->callback([u, dev_opt, &exit_code] {
        u->dev_given = dev_opt->count() > 0;
        exit_code = run_unload(*u);
    });
}

}  // namespace secpol::cli
