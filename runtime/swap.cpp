#include "swap.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <functional>
#include <set>
#include <thread>

#include "confirm.h"
#include "guard.h"
#include "log.h"
#include "pins.h"
#include "rule_table.h"
#include "tc_list.h"
#include "xdp_foreign.h"

namespace secpol::rt {

namespace {

// secpol's tc programs by the name the kernel reports (program.h
// egress_prog_name): Ethernet or IP-only devices.
bool is_secpol_egress(const std::string& name) {
    return name == "secpol_egress" || name == "secpol_l3_out";
}

// Steps to undo, run in reverse unless commit() was called: every exit path
// of install() either completes or leaves the interface as it found it.
class Undo {
  public:
    Undo() = default;
    Undo(const Undo&) = delete;
    Undo& operator=(const Undo&) = delete;
    ~Undo() {
        for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) (*it)();
    }
    void add(std::function<void()> f) { steps_.push_back(std::move(f)); }
    void commit() { steps_.clear(); }

  private:
    std::vector<std::function<void()>> steps_;
};

Error on(const Interface& i, const Error& e) {
    return Error{e.err, i.name + ": " + e.message};
}

int64_t now() {
    return static_cast<int64_t>(::time(nullptr));
}

// Pins the programs and maps of a policy (the XDP link is pinned separately:
// it outlives swaps).
Status pin_policy(const std::string& iface, const PolicyHandles& pol) {
    if (auto r = pin_fd(pol.ingress_fd, pin_path(iface, kPinIngress)); !r) return r;
    if (auto r = pin_fd(pol.egress_fd, pin_path(iface, kPinEgress)); !r) return r;
    for (const auto& [name, fd] : pol.maps)
        if (auto r = pin_fd(fd, pin_path(iface, "map_" + name)); !r) return r;
    return ok();
}

// After the swap, an old program may still be finishing a packet on another
// CPU (XDP and tc run inside RCU read sections that last microseconds). Read
// the old counters until two reads some milliseconds apart agree.
Result<Slots> read_quiesced(int map_fd, unsigned nslots) {
    Slots prev;
    for (int i = 0; i < 20; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(i == 0 ? 5 : 20));
        auto cur = read_counter_map(map_fd, nslots);
        if (!cur) return cur.error();
        if (i > 0 && *cur == prev) return cur;
        prev = std::move(*cur);
    }
    return prev;
}

using OldPins = std::vector<std::pair<std::string, UniqueFd>>;

// Puts the old policy's pins back and removes any the new one added.
void restore_pins(const std::string& iface, const OldPins& old_pins) {
    std::set<std::string> keep;
    for (const auto& [name, fd] : old_pins) {
        pin_fd(fd.get(), pin_path(iface, name));
        keep.insert(name);
    }
    for (const auto& name : list_pins(iface))
        if (name != kPinXdpLink && !keep.count(name)) ::unlink(pin_path(iface, name).c_str());
}

uint32_t prog_id(int fd) {
    auto p = prog_info_by_fd(fd);
    return p ? p->id : 0;
}

// The commit point of install: the state file names the new ingress program.
bool state_names(const std::string& iface, uint32_t ingress_id) {
    auto st = read_state(iface);
    return st && *st && (*st)->ingress_prog_id == ingress_id;
}

void log_rollback(const std::string& iface, const char* what) {
    log::write(log::Error, "%s: secpol died in the middle of a load; putting back %s\n", iface.c_str(), what);
}

// Whether the XDP link still holds the interface: deleted mid-load, it does
// not, and the load fails (and rolls back) instead of writing a state for a
// device that is gone.
Status still_there(const Interface& iface, int link_fd) {
    auto li = link_info_by_fd(link_fd);
    if (!li) return on(iface, li.error());
    if (li->ifindex != iface.ifindex)
        return on(iface, Error::msg("the interface went away during the load", ENODEV));
    return ok();
}

IfaceState new_state(const Interface& iface, const PolicyHandles& pol) {
    IfaceState st;
    st.iface = iface.name;
    st.ifindex = iface.ifindex;
    st.netns = netns_id();
    st.label = pol.label;
    st.policy_file = pol.policy_file;
    st.loaded_at = now();
    st.locals_changed_at = st.loaded_at;  // a load binds the host's addresses of now
    st.tc_handle = kTcHandle;
    st.tc_priority = kTcPriority;
    st.nrules = pol.nrules;
    st.meta_text = pol.meta_text;
    st.source = pol.source;
    st.has_source = true;
    st.local_addresses = pol.local_addresses;
    st.local_broadcasts = pol.local_broadcasts;
    st.local_spec = pol.local_spec;
    st.offsets.slots.resize(slot_count(pol.nrules));
    if (auto p = prog_info_by_fd(pol.ingress_fd)) st.ingress_prog_id = p->id;
    if (auto p = prog_info_by_fd(pol.egress_fd)) st.egress_prog_id = p->id;
    bpf_map_info mi{};
    uint32_t len = sizeof mi;
    if (bpf_obj_get_info_by_fd(pol.counters_fd, &mi, &len) == 0) st.counters_map_id = mi.id;
    return st;
}

Result<InstallResult> install_fresh(const Current& cur, const PolicyHandles& pol, XdpMode mode) {
    const Interface& iface = cur.iface;
    // Leftovers of a policy whose XDP program is gone (interface re-created,
    // program detached by hand, crash before the state was written).
    if (cur.tc_prog_id)
        if (auto r = tc_detach_egress(iface.ifindex); !r) return on(iface, r.error());
    if (auto r = remove_pins(iface.name); !r) return on(iface, r.error());
    if (auto r = remove_state(iface.name); !r) return on(iface, r.error());

    // Should this process die before the state is written: nothing attached.
    const uint32_t new_in = prog_id(pol.ingress_fd), new_eg = prog_id(pol.egress_fd);
    RollbackGuard guard([&] { return state_names(iface.name, new_in); },
                        [&] {
                            log_rollback(iface.name, "no policy");
                            if (auto t = tc_query_egress(iface.ifindex); t && *t == new_eg)
                                tc_detach_egress(iface.ifindex);
                            if (auto l = open_pin(pin_path(iface.name, kPinXdpLink)); l && *l)
                                bpf_link_detach(l->get());
                            remove_pins(iface.name);
                            remove_state(iface.name);
                        });
    kill_point("cleaned");

    Undo undo;  // declared first: runs after the link fd below is closed
    if (auto r = ensure_dir(pin_dir(iface.name)); !r) return on(iface, r.error());
    undo.add([&] { remove_pins(iface.name); });

    // Not pinned until everything else worked, so closing it on a failure detaches it.
    auto link = xdp_link_create(iface.ifindex, pol.ingress_fd, mode);
    if (!link) return on(iface, link.error());
    auto attached = query_xdp(iface.ifindex);
    if (!attached) return on(iface, attached.error());
    kill_point("xdp");

    if (fault("after-xdp"))
        return on(iface, Error::msg("attach tc egress filter: injected fault (SECPOL_FAULT=after-xdp)", EIO));
    auto created = tc_hook_ensure(iface.ifindex);
    if (!created) return on(iface, created.error());
    if (*created) undo.add([&] { tc_hook_destroy(iface.ifindex); });
    if (auto r = tc_attach_egress(iface.ifindex, pol.egress_fd, false); !r) return on(iface, r.error());
    undo.add([&] { tc_detach_egress(iface.ifindex); });
    kill_point("tc");

    if (fault("before-pin"))
        return on(iface, Error::msg("pin: injected fault (SECPOL_FAULT=before-pin)", EIO));
    if (auto r = pin_fd(link->get(), pin_path(iface.name, kPinXdpLink)); !r) return on(iface, r.error());
    kill_point("link-pinned");
    if (auto r = pin_policy(iface.name, pol); !r) return on(iface, r.error());
    kill_point("pinned");

    if (auto r = still_there(iface, link->get()); !r) return r.error();

    InstallResult res;
    res.state = new_state(iface, pol);
    res.state.xdp_mode = to_string(attached->mode);
    res.state.created_clsact = *created;
    if (auto li = link_info_by_fd(link->get())) res.state.xdp_link_id = li->id;
    if (auto r = write_state(res.state); !r) {
        remove_state(iface.name);
        return on(iface, r.error());
    }
    kill_point("state");
    undo.commit();
    return res;
}

Result<InstallResult> install_swap(const Current& cur, const PolicyHandles& pol, XdpMode mode) {
    const Interface& iface = cur.iface;
    IfaceState old;
    RuleRows old_rules;
    if (cur.state) {
        old = *cur.state;
        // Its bytes for a rollback's write_state, its rows for the carry-over.
        if (auto r = load_meta_text(old); !r) return on(iface, r.error());
        auto table = read_rule_table(old, RuleFields::Lenient);
        if (!table) return on(iface, table.error());
        old_rules = std::move(table->rules);
    }
    if (mode != XdpMode::Auto && cur.xdp.mode != mode)
        return Error::msg(iface.name + ": the policy there is attached in " + to_string(cur.xdp.mode) +
                              " mode; run `secpol unload --dev " + iface.name +
                              "` first to change the XDP mode",
                          EINVAL);

    auto link = open_pin(pin_path(iface.name, kPinXdpLink));
    if (!link || !*link) return on(iface, link ? Error::msg("XDP link pin vanished", ENOENT) : link.error());
    UniqueFd old_in(bpf_prog_get_fd_by_id(cur.xdp.prog_id));
    if (!old_in) return on(iface, Error::sys(errno, "open attached XDP program"));
    UniqueFd old_eg;
    if (cur.tc_prog_id) {
        old_eg.reset(bpf_prog_get_fd_by_id(cur.tc_prog_id));
        if (!old_eg) return on(iface, Error::sys(errno, "open attached tc program"));
    }
    // The old pins stay open so a failure can put them back.
    OldPins old_pins;
    int old_counters = -1;
    for (const auto& name : list_pins(iface.name)) {
        if (name == kPinXdpLink) continue;
        auto fd = open_pin(pin_path(iface.name, name));
        if (!fd) return on(iface, fd.error());
        if (!*fd) continue;
        if (name == kPinCounters) old_counters = fd->get();
        old_pins.emplace_back(name, std::move(*fd));
    }

    // Should this process die before the new state is written: the old policy, all of it.
    const uint32_t new_in = prog_id(pol.ingress_fd);
    RollbackGuard guard([&] { return state_names(iface.name, new_in); },
                        [&] {
                            log_rollback(iface.name, "the old policy");
                            xdp_link_update(link->get(), old_in.get(), pol.ingress_fd);
                            if (old_eg)
                                tc_attach_egress(iface.ifindex, old_eg.get(), true);
                            else
                                tc_detach_egress(iface.ifindex);
                            restore_pins(iface.name, old_pins);
                            if (cur.state) write_state(old);
                        });
    kill_point("cleaned");

    Undo undo;
    if (auto r = xdp_link_update(link->get(), pol.ingress_fd, old_in.get()); !r) return on(iface, r.error());
    undo.add([&] { xdp_link_update(link->get(), old_in.get(), pol.ingress_fd); });
    kill_point("xdp");

    if (fault("after-xdp"))
        return on(iface,
                  Error::msg("replace tc egress filter: injected fault (SECPOL_FAULT=after-xdp)", EIO));
    if (auto r = tc_attach_egress(iface.ifindex, pol.egress_fd, true); !r) return on(iface, r.error());
    undo.add([&] {
        if (old_eg)
            tc_attach_egress(iface.ifindex, old_eg.get(), true);
        else
            tc_detach_egress(iface.ifindex);
    });
    kill_point("tc");

    undo.add([&] { restore_pins(iface.name, old_pins); });
    if (fault("before-pin"))
        return on(iface, Error::msg("pin: injected fault (SECPOL_FAULT=before-pin)", EIO));
    if (auto r = pin_policy(iface.name, pol); !r) return on(iface, r.error());
    kill_point("pinned");
    // Maps of the old object that the new one lacks must not linger.
    for (const auto& [name, fd] : old_pins) {
        bool still = name == kPinIngress || name == kPinEgress;
        for (const auto& m : pol.maps) still = still || name == "map_" + m.first;
        if (!still) ::unlink(pin_path(iface.name, name).c_str());
    }

    if (auto r = still_there(iface, link->get()); !r) return r.error();

    InstallResult res;
    res.replaced = true;
    Slots old_totals;
    if (old_counters >= 0) {
        auto live = read_quiesced(old_counters, slot_count(old.nrules));
        if (!live) return on(iface, live.error());
        old_totals = apply_offsets(*live, old.offsets);
    }
    kill_point("counters-read");

    res.state = new_state(iface, pol);
    res.state.offsets = carry_over(old_rules, old_totals, old.offsets.retired, pol.rules);
    if (pol.adjust_offsets) pol.adjust_offsets(res.state.offsets, old_rules, pol.rules);
    res.state.xdp_mode = to_string(cur.xdp.mode);
    res.state.created_clsact = old.created_clsact;
    res.state.generation = old.generation + 1;
    res.state.replaced_at = res.state.loaded_at;
    if (auto li = link_info_by_fd(link->get())) res.state.xdp_link_id = li->id;
    for (unsigned d = 0; d < 2; ++d) {
        res.carried[d] = decisions_total(res.state.offsets.slots, pol.nrules, d);
        res.retired[d] = res.state.offsets.retired[d];
    }
    if (auto r = write_state(res.state); !r) {
        if (cur.state) write_state(old);  // policy.pol may already be the new one
        return on(iface, r.error());
    }
    kill_point("state");
    undo.commit();
    res.old_rules = std::move(old_rules);
    res.old_totals = std::move(old_totals);
    return res;
}

}  // namespace

Result<Current> inspect(const Interface& iface) {
    Current c;
    c.iface = iface;
    auto st = read_state(iface.name);
    if (!st) return on(iface, st.error());
    c.state = std::move(*st);
    if (c.state && c.state->netns && c.state->netns != netns_id())
        return Error::msg(iface.name + ": secpol state of this name belongs to another network namespace",
                          EEXIST);

    auto x = query_xdp(iface.ifindex);
    if (!x) return on(iface, x.error());
    c.xdp = *x;
    auto tc = tc_query_egress(iface.ifindex);
    if (!tc) return on(iface, tc.error());
    c.tc_prog_id = *tc;

    if (c.xdp.prog_id) {
        auto link = open_pin(pin_path(iface.name, kPinXdpLink));
        // A pin that is there but cannot be opened (read-only bpffs) is not a foreign program.
        if (!link) return on(iface, link.error());
        if (*link) {
            auto li = link_info_by_fd(link->get());
            c.ours = li && li->prog_id == c.xdp.prog_id && li->ifindex == iface.ifindex;
        }
        if (!c.ours)
            return Error::msg(iface.name + ": " + describe_foreign_xdp(iface.ifindex, c.xdp.prog_id) +
                                  " is attached and was not loaded by secpol; not replacing it",
                              EBUSY);
    }
    if (c.tc_prog_id) {
        bool known = c.state && c.state->egress_prog_id == c.tc_prog_id;
        auto p = prog_info_by_id(c.tc_prog_id);
        if (!known && !(p && is_secpol_egress(p->name)))
            return Error::msg(iface.name + ": tc egress filter handle " + std::to_string(kTcHandle) +
                                  " priority " + std::to_string(kTcPriority) + " holds another program" +
                                  (p ? " '" + p->name + "'" : std::string()) + "; not replacing it",
                              EBUSY);
    }
    return c;
}

Result<InstallResult> install(const Current& cur, const PolicyHandles& pol, XdpMode mode) {
    return cur.ours ? install_swap(cur, pol, mode) : install_fresh(cur, pol, mode);
}

// What secpol still has attached to the interface, as the kernel reports it
// over netlink ("" when nothing): the proof an unload needs before it
// forgets the state.
Result<std::string> still_attached(const Interface& iface, const std::optional<IfaceState>& state) {
    auto ours = [&](uint32_t id, uint32_t state_id, const char* prog_name) {
        if (state && id == state_id) return true;
        auto p = prog_info_by_id(id);
        return p && p->name == prog_name;
    };
    auto x = query_xdp(iface.ifindex);
    if (!x) return on(iface, x.error());
    if (x->prog_id && ours(x->prog_id, state ? state->ingress_prog_id : 0, "secpol_ingress"))
        return "XDP program secpol_ingress (id " + std::to_string(x->prog_id) + ")";
    auto filters = tc_list_filters(iface.ifindex);
    if (!filters) return on(iface, filters.error());
    for (const auto& f : *filters)
        if (f.prog_id && ours(f.prog_id, state ? state->egress_prog_id : 0, "secpol_egress"))
            return std::string("tc ") + (f.egress ? "egress" : "ingress") + " program secpol_egress (id " +
                   std::to_string(f.prog_id) + ")";
    return std::string();
}

Result<bool> uninstall(const std::string& name) {
    if (auto v = validate_ifname(name); !v) return v.error();
    // Under `ip netns exec` the pins (and with them the XDP link) are out of reach.
    if (auto b = check_host_bpffs(); !b && b.error().err == EXDEV)
        return Error{b.error().err, name + ": " + b.error().message};
    bool any = false;
    auto st = read_state(name);
    std::optional<IfaceState> state;
    if (st) state = std::move(*st);
    if (state && state->netns && state->netns != netns_id())
        return Error::msg(
            name + ": secpol state of this name belongs to another network namespace; unload it there",
            EEXIST);

    auto iface = find_interface(name);
    if (iface) {
        auto tc = tc_query_egress(iface->ifindex);
        if (tc && *tc) {
            auto p = prog_info_by_id(*tc);
            if ((state && state->egress_prog_id == *tc) || (p && is_secpol_egress(p->name))) {
                if (auto r = tc_detach_egress(iface->ifindex); !r) return on(*iface, r.error());
                any = true;
            }
        }
    }
    // bpf_link_detach ends the attachment even if another process holds the link.
    auto link = open_pin(pin_path(name, kPinXdpLink));
    if (link && *link) {
        bpf_link_detach(link->get());
        any = true;
    }
    if (iface) {
        auto left = still_attached(*iface, state);
        if (!left) return left.error();
        if (!left->empty())
            return Error::msg(
                name + ": " + *left +
                    " is still attached (its link is pinned where this process cannot reach it: "
                    "another bpffs or mount namespace); state kept, nothing removed",
                EBUSY);
        // The clsact qdisc goes too when this policy created it and nothing else uses it now.
        if (state && state->created_clsact)
            if (auto f = tc_list_filters(iface->ifindex); f && f->empty()) tc_hook_destroy(iface->ifindex);
    }
    if (!list_pins(name).empty()) any = true;
    if (auto r = remove_pins(name); !r) return Error{r.error().err, name + ": " + r.error().message};
    if (state || !st) any = true;
    // An unload cancels a pending `load --confirm`; its timer wakes and exits.
    if (auto r = cancel_pending(name); !r) return Error{r.error().err, name + ": " + r.error().message};
    if (auto r = remove_state(name); !r) return Error{r.error().err, name + ": " + r.error().message};
    return any;
}

Result<Slots> read_live(const IfaceState& st) {
    auto fd = open_pin(pin_path(st.iface, kPinCounters));
    if (!fd) return fd.error();
    if (!*fd)
        return Error::msg(
            st.iface + ": counters map is not pinned (" + pin_path(st.iface, kPinCounters) + ")", ENOENT);
    auto live = read_counter_map(fd->get(), slot_count(st.nrules));
    if (!live) return Error{live.error().err, st.iface + ": " + live.error().message};
    return std::move(*live);
}

Result<Slots> read_totals(const IfaceState& st) {
    auto live = read_live(st);
    if (!live) return live.error();
    return apply_offsets(*live, st.offsets);
}

}  // namespace secpol::rt
