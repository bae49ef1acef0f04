// `secpol log`: the packets the loaded policy's `log` clauses send to the
// ring buffer, one line (or JSON object) each, and optionally a pcap that
// tcpdump and Wireshark read (written by libpcap). Follows swaps: the ring is
// reused by `load`, and events are labelled from the rule table of the
// policy that decided them (their tag), docs/runtime.md "secpol log".
#include <net/if.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>

#include "commands.h"
#include "log.h"
#include "output.h"
#include "runtime/lock.h"
#include "runtime/log_events.h"
#include "runtime/log_ring.h"
#include "runtime/netif.h"
#include "runtime/pcap_out.h"
#include "runtime/state.h"

namespace secpol::cli {

namespace {

volatile std::sig_atomic_t g_stop = 0;

struct LogArgs {
    std::string dev;
    bool json = false;
    std::string pcap;
    uint64_t count = 0;  // 0: no limit
    double timeout = 0;  // seconds, 0: none
};

constexpr int kPollMs = 200;  // also how often a swap or an unload is noticed

int64_t now_ns(clockid_t c) {
    timespec ts{};
    clock_gettime(c, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

class Logger {
  public:
    explicit Logger(const LogArgs& a)
        : a_(a), mono_to_real_(now_ns(CLOCK_REALTIME) - now_ns(CLOCK_MONOTONIC)) {}

    int run() {
        if (auto v = rt::validate_ifname(a_.dev); !v) return error(v.error());
        if (a_.json && a_.pcap == "-")
            return error("--json and --pcap - both want standard output; give --pcap a file", kUsage);
        if (auto r = rt::require_privileges(a_.dev + ": secpol log"); !r) return error(r.error());
        if (auto r = rt::check_bpffs(); !r)
            return error(Error{r.error().err, a_.dev + ": " + r.error().message});
        auto st = read_policy();
        if (!st) return error(st.error());
        if (!*st) return error(Error::msg(a_.dev + ": no secpol policy loaded", ENOENT));
        generation_ = (*st)->generation;
        const auto& pol = policies_[(*st)->ingress_prog_id];
        const nlohmann::json& cfg = pol.table.config;
        const bool logs = cfg.is_object() && cfg.value("flags", 0u) & SECPOL_CFG_LOG;
        if (auto r = open_ring(); !r) {
            // A policy without `log` has no ring: wait for one that has.
            if (logs || r.error().err != ENOENT) return error(r.error());
            log::write(log::Warn,
                       "%s: policy \"%s\" has no `log` clause: no events until a policy with one is loaded\n",
                       a_.dev.c_str(), (*st)->label.c_str());
        }
        if (!a_.pcap.empty()) {
            bool l3 = false;
            if (auto i = rt::find_interface(a_.dev))
                if (auto l = rt::link_of(*i)) l3 = *l == ref::Link::L3;
            auto p = rt::PcapOut::open(a_.pcap, l3);
            if (!p) return error(p.error());
            pcap_ = std::move(*p);
        }

        // On stderr, so scripts (and tests) know events from now on are read.
        std::fprintf(stderr, "secpol: %s: reading the log of policy \"%s\" (ring %u KiB); Ctrl-C stops\n",
                     a_.dev.c_str(), (*st)->label.c_str(), ring_ ? ring_->size() / 1024 : 0);
        check_lost(/*start=*/true);
        const int64_t deadline = a_.timeout > 0 ? now_ns(CLOCK_MONOTONIC) + int64_t(a_.timeout * 1e9) : 0;
        while (!g_stop && !done()) {
            int wait = kPollMs;
            if (deadline) {
                const int64_t left = (deadline - now_ns(CLOCK_MONOTONIC)) / 1000000;
                if (left <= 0) break;
                wait = static_cast<int>(std::min<int64_t>(wait, left));
            }
            if (ring_) {
                auto n = ring_->poll(wait);
                if (!n) return error(n.error());
            } else {
                timespec ts{0, long(wait) * 1000000};
                nanosleep(&ts, nullptr);
            }
            if (g_stop || done()) break;
            if (auto r = follow(); !r) return error(r.error());
            check_lost(false);
            if (unloaded_) {
                log::write(log::Warn, "%s: the policy was unloaded; stopping\n", a_.dev.c_str());
                break;
            }
        }
        if (!done() && ring_) (void)ring_->drain();
        check_lost(false);
        return failed_ ? kError : kOk;
    }

  private:
    bool done() const { return a_.count && seen_ >= a_.count; }

    // The state and rule table under the shared lock (no half-written swap).
    Result<std::optional<rt::IfaceState>> read_policy() {
        auto lock = rt::InterfaceLock::acquire(a_.dev, rt::InterfaceLock::Mode::Shared);
        if (!lock) {
            if (lock.error().err == ENOENT) return std::optional<rt::IfaceState>{};
            return Error{lock.error().err, a_.dev + ": " + lock.error().message};
        }
        auto st = rt::read_state(a_.dev);
        if (!st) return st.error();
        if (!*st) return st;
        // Lenient: a rule the table cannot type still lets events be read.
        auto table = rt::read_rule_table(**st, rt::RuleFields::Lenient);
        if (!table) return table.error();
        rt::LogPolicy p;
        p.tag = (*st)->ingress_prog_id;
        p.table = std::move(*table);
        const nlohmann::json& pol = p.table.policy;
        p.file = pol.is_object() ? pol.value("file", std::string()) : std::string();
        if (p.file.empty() || p.file == "<stdin>") p.file = (*st)->policy_file;
        policies_[p.tag] = std::move(p);
        return st;
    }

    Status open_ring() {
        auto fd = rt::open_pin(rt::pin_path(a_.dev, rt::kPinLogRing));
        if (!fd) return fd.error();
        if (!*fd) return Error::msg(a_.dev + ": no log ring pinned (the policy has no `log` clause)", ENOENT);
        if (ring_) (void)ring_->drain();  // the old ring's last events first
        auto r = rt::LogRing::open(fd->get(), [this](const secpol_log_event& e) { on_event(e); });
        if (!r) return Error{r.error().err, a_.dev + ": " + r.error().message};
        ring_ = std::move(*r);
        return ok();
    }

    // A swap (new generation: its rule table; a new ring when the old one
    // was too small) or an unload.
    Status follow() {
        auto st = rt::read_state(a_.dev);
        if (!st) return ok();  // a state being replaced: look again next time
        if (!*st) {
            unloaded_ = true;
            return ok();
        }
        if ((*st)->generation != generation_) {
            auto again = read_policy();
            if (again && *again) generation_ = (**again).generation;
        }
        const uint32_t id = rt::pinned_map_id(rt::pin_path(a_.dev, rt::kPinLogRing));
        if (id && (!ring_ || id != ring_->map_id())) return open_ring();
        return ok();
    }

    // Events the kernel could not put in the ring (it was full: this reader
    // fell behind, or was stopped), from the pinned rate map's buckets, as a
    // warning on stderr whenever the count grows; the event stream itself
    // stays events only. A swap's new rate map starts at 0.
    void check_lost(bool start) {
        auto fd = rt::open_pin(rt::pin_path(a_.dev, rt::kPinLogRate));
        if (!fd || !*fd) return;
        auto l = rt::lost_events(fd->get());
        if (!l) return;
        if (l->map_id != lost_map_) {
            lost_map_ = l->map_id;
            lost_seen_ = start ? l->lost : 0;
        }
        if (l->lost <= lost_seen_) return;
        const uint64_t more = l->lost - lost_seen_;
        lost_seen_ = l->lost;
        lost_total_ += more;
        log::write(log::Warn,
                   "%s: %llu events lost: the ring buffer was full (%llu since this reader started)\n",
                   a_.dev.c_str(), static_cast<unsigned long long>(more),
                   static_cast<unsigned long long>(lost_total_));
    }

    void on_event(const secpol_log_event& e) {
        if (done()) return;
        auto it = policies_.find(e.tag);
        if (it == policies_.end()) {
            // A swap this reader has not seen yet: its rule table now.
            (void)read_policy();
            it = policies_.find(e.tag);
        }
        const rt::LogPolicy* pol = it == policies_.end() ? nullptr : &it->second;
        const rt::EventRule rule = rt::event_rule(e, pol);
        const int64_t t = rt::event_time_ns(e, mono_to_real_);
        if (a_.json)
            std::cout << rt::event_json(e, a_.dev, rule, t).dump() << std::endl;
        else if (a_.pcap != "-")
            std::cout << rt::event_text(e, a_.dev, rule, t) << std::endl;
        if (pcap_)
            if (auto w = pcap_->write(e, t); !w && !failed_) {
                log::write(log::Error, "%s\n", w.error().message.c_str());
                failed_ = true;
                g_stop = 1;
            }
        ++seen_;
    }

    const LogArgs& a_;
    int64_t mono_to_real_;
    std::map<uint32_t, rt::LogPolicy> policies_;  // by tag (XDP program id)
    uint32_t generation_ = 0;
    std::unique_ptr<rt::LogRing> ring_;
    std::unique_ptr<rt::PcapOut> pcap_;
    uint64_t seen_ = 0;
    uint32_t lost_map_ = 0;                    // the rate map whose `lost` counts are followed
    uint64_t lost_seen_ = 0, lost_total_ = 0;  // its sum when last read; reported in all
    bool unloaded_ = false;
    bool failed_ = false;
};

}  // namespace

void add_log(CLI::App& app, int& exit_code) {
    auto a = std::make_shared<LogArgs>();
    auto* cmd = app.add_subcommand(
        "log", "Packets that filters (or the default) with a `log` clause decided, as they happen");
    cmd->add_option("--dev", a->dev, "interface")->required();
    add_json_flag(cmd, a->json, "one JSON object per event and line");
    cmd->add_option(
        "--pcap", a->pcap,
        "also write the events' packets (first 128 bytes) to FILE as a pcap (- = standard output, "
        "then no event lines)");
    cmd->add_option("--count", a->count, "stop after N events")->check(CLI::PositiveNumber);
    cmd->add_option("--timeout", a->timeout, "stop after SECONDS")->check(CLI::PositiveNumber);
    cmd->footer(
        "Runs until Ctrl-C (SIGINT), SIGTERM, --count or --timeout, or until the policy is unloaded; exit 0. "
        "Events are rate-limited per rule in the kernel (`log rate N/s burst B`); an event says how many "
        "packets of its rule the limit held back before it. Events the ring buffer had no room for (a reader "
        "that falls behind) are counted and reported as a warning on stderr. A swap (`secpol load`) keeps "
        "the ring: reading "
        "goes on with the new policy's labels.");
    cmd->callback([a, &exit_code] {
        std::signal(SIGINT, [](int) { g_stop = 1; });
        std::signal(SIGTERM, [](int) { g_stop = 1; });
        Logger l(*a);
        exit_code = l.run();
    });
}

}  // namespace secpol::cli
