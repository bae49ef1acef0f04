// `secpol daemon`: the long-running part of secpol.service (docs/service.md).
// It loads the policies configured under the config directory, swaps them
// atomically on SIGHUP (systemctl reload), keeps "me" equal to the host's
// addresses by following rtnetlink address events, serves the counters in
// the Prometheus format on --metrics, and speaks sd_notify. Loads and
// unloads run as child `secpol load`/`unload` processes: the same code,
// locks and crash rollback as by hand, and a failure cannot take the
// daemon down.
#include <httplib.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <set>
#include <thread>

#include "commands.h"
#include "log.h"
#include "runtime/addr_watch.h"
#include "runtime/locals.h"
#include "runtime/lock.h"
#include "runtime/metrics.h"
#include "runtime/netif.h"
#include "runtime/service_config.h"
#include "runtime/state.h"

namespace secpol::cli {

namespace {

struct DaemonArgs {
    std::string config_dir = "/etc/secpol";
    std::string metrics;
    std::string on_stop;
};

// Counters of the daemon itself, shown next to the policies' metrics.
struct DaemonStats {
    std::atomic<uint64_t> reloads{0}, reload_failures{0}, local_updates{0};
    std::atomic<int64_t> last_reload{0};
    std::atomic<bool> last_reload_ok{true};
};

std::string daemon_metrics(const DaemonStats& s) {
    auto line = [](const char* name, const char* type, const char* help, double v) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.17g", v);
        return std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name +
               " " + buf + "\n";
    };
    return line("secpol_daemon_reloads_total", "counter", "Reloads (SIGHUP) handled", s.reloads.load()) +
           line("secpol_daemon_reload_failures_total", "counter",
                "Reloads that kept an old policy on some interface", s.reload_failures.load()) +
           line("secpol_daemon_last_reload_successful", "gauge",
                "Whether the last start or reload loaded everything", s.last_reload_ok.load() ? 1 : 0) +
           line("secpol_daemon_last_reload_timestamp_seconds", "gauge",
                "When the last start or reload finished", static_cast<double>(s.last_reload.load())) +
           line("secpol_daemon_local_address_updates_total", "counter",
                "Times the bound 'me' addresses of an interface changed live", s.local_updates.load());
}

// The metrics endpoint: GET /metrics, served from its own thread; each
// scrape reads the pinned counters under the interfaces' shared locks.
class MetricsServer {
  public:
    explicit MetricsServer(const DaemonStats& stats) : stats_(stats) {}
    ~MetricsServer() { stop(); }
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    Status start(const std::string& addr) {
        auto hp = rt::parse_listen_address(addr);
        if (!hp) return hp.error();
        svr_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
            std::vector<std::string> errors;
            // Read now (under the interfaces' locks), sent as rendered in
            // chunks: ~140 MB at 100,000 rules, never held whole.
            auto snap = std::make_shared<rt::MetricsSnapshot>(rt::read_metrics({}, &errors));
            for (const auto& e : errors) log::write(log::Warn, "metrics: %s\n", e.c_str());
            res.set_chunked_content_provider(
                "text/plain; version=0.0.4; charset=utf-8",
                [snap, tail = daemon_metrics(stats_)](size_t, httplib::DataSink& sink) {
                    rt::TextOut o([&sink](std::string_view s) { return sink.write(s.data(), s.size()); });
                    snap->write(o);
                    o << tail;
                    if (!o.flush()) return false;
                    sink.done();
                    return true;
                });
        });
        svr_.Get("/", [](const httplib::Request&, httplib::Response& res) {
            res.set_content("secpol: counters at /metrics\n", "text/plain");
        });
        if (!svr_.bind_to_port(hp->first.c_str(), hp->second))
            return Error::msg("metrics: cannot listen on " + addr, EADDRINUSE);
        thread_ = std::thread([this] { svr_.listen_after_bind(); });
        return ok();
    }
    void stop() {
        if (thread_.joinable()) {
            svr_.stop();
            thread_.join();
        }
    }

  private:
    const DaemonStats& stats_;
    httplib::Server svr_;
    std::thread thread_;
};

// sd_notify, when started by systemd (NOTIFY_SOCKET); a no-op otherwise.
void notify(const std::string& msg) {
    if (std::getenv("NOTIFY_SOCKET")) sd_notify(0, msg.c_str());
}

int64_t now() {
    return ::time(nullptr);
}

uint64_t monotonic_usec() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// Runs this binary with ARGS (a child `secpol load ...`); its messages go
// to our stderr (the journal). Returns its exit status.
int run_self(const std::vector<std::string>& args) {
    pid_t pid = fork();
    if (pid < 0) {
        log::write(log::Error, "fork: %s\n", std::strerror(errno));
        return 1;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);  // the daemon's signalfd mask is not the child's
        ::unsetenv("NOTIFY_SOCKET");               // only the daemon talks to systemd
        std::vector<char*> argv;
        static std::string self = "secpol";
        argv.push_back(self.data());
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv("/proc/self/exe", argv.data());
        std::fprintf(stderr, "secpol: error: exec /proc/self/exe: %s\n", std::strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

class Daemon {
  public:
    explicit Daemon(DaemonArgs a) : args_(std::move(a)) {}

    int run() {
        auto cfg = config();
        if (!cfg) {
            log::write(log::Error, "%s\n", cfg.error().message.c_str());
            return 1;
        }
        cfg_ = std::move(*cfg);
        // Subscribe before the first load: an address that changes while it
        // runs is then an event we read afterwards, never a gap.
        auto watch = rt::AddressWatch::open();
        if (!watch) {
            log::write(log::Error, "%s\n", watch.error().message.c_str());
            return 1;
        }
        sigset_t set;
        sigemptyset(&set);
        for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&set, s);
        sigprocmask(SIG_BLOCK, &set, nullptr);
        rt::UniqueFd sfd(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
        if (!sfd) {
            log::write(log::Error, "signalfd: %s\n", std::strerror(errno));
            return 1;
        }
        if (!cfg_.metrics.empty()) {
            metrics_ = std::make_unique<MetricsServer>(stats_);
            if (auto r = metrics_->start(cfg_.metrics); !r) {
                log::write(log::Error, "%s\n", r.error().message.c_str());
                return 1;
            }
            log::write(log::Info, "metrics at http://%s/metrics\n", cfg_.metrics.c_str());
        }

        // A policy that does not load at start fails the service (nothing
        // else would tell that a host runs unprotected); interfaces that do
        // not exist yet are loaded when they appear.
        if (!apply_all()) {
            notify("STATUS=" + status_line());
            stop_policies();
            return 1;
        }
        sync_locals();
        notify("READY=1\nSTATUS=" + status_line());
        log::write(log::Info, "%s\n", status_line().c_str());

        pollfd fds[2] = {{watch->fd(), POLLIN, 0}, {sfd.get(), POLLIN, 0}};
        for (;;) {
            if (poll(fds, 2, -1) < 0) {
                if (errno == EINTR) continue;
                log::write(log::Error, "poll: %s\n", std::strerror(errno));
                return 1;
            }
            if (fds[1].revents & POLLIN) {
                signalfd_siginfo si{};
                while (::read(sfd.get(), &si, sizeof si) == sizeof si) {
                    if (si.ssi_signo == SIGHUP) {
                        reload();
                    } else {
                        notify("STOPPING=1");
                        log::write(log::Info, "stopping (on_stop = %s)\n", cfg_.on_stop.c_str());
                        stop_policies();
                        return 0;
                    }
                }
            }
            if (fds[0].revents & POLLIN) {
                auto c = watch->drain();
                if (!c) {
                    log::write(log::Error, "%s\n", c.error().message.c_str());
                    return 1;
                }
                if (c->links) load_pending();
                if (c->addresses) sync_locals();
            }
        }
    }

  private:
    Result<rt::ServiceConfig> config() {
        auto c = rt::read_service_config(args_.config_dir);
        if (!c) return c;
        if (!args_.metrics.empty()) c->metrics = args_.metrics;
        if (!args_.on_stop.empty()) c->on_stop = args_.on_stop;
        return c;
    }

    // Loads (or atomically replaces) one interface's policy. A failure keeps
    // whatever was loaded: `secpol load` changes nothing when it fails.
    bool apply(const std::string& iface, const std::string& file) {
        if (!rt::find_interface(iface)) {
            log::write(log::Warn, "%s: no such interface yet; its policy %s loads when it appears\n",
                       iface.c_str(), file.c_str());
            pending_.insert(iface);
            return true;
        }
        pending_.erase(iface);
        int rc = run_self({"load", file, "--dev", iface, "--xdp-mode", cfg_.xdp_mode});
        if (rc != 0) {
            failed_.insert(iface);
            log::write(log::Error, "%s: policy %s not loaded (exit %d); the interface keeps what it had\n",
                       iface.c_str(), file.c_str(), rc);
            return false;
        }
        failed_.erase(iface);
        return true;
    }

    bool apply_all() {
        bool good = true;
        failed_.clear();
        for (const auto& [iface, file] : cfg_.policies) good = apply(iface, file) && good;
        stats_.last_reload_ok = good;
        stats_.last_reload = now();
        return good;
    }

    void load_pending() {
        std::set<std::string> todo = pending_;
        bool any = false;
        for (const auto& iface : todo) {
            if (!rt::find_interface(iface)) continue;
            log::write(log::Info, "%s: interface appeared, loading %s\n", iface.c_str(),
                       cfg_.policies[iface].c_str());
            apply(iface, cfg_.policies[iface]);
            any = true;
        }
        if (any) {
            sync_locals();
            notify("STATUS=" + status_line());
        }
    }

    void reload() {
        notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()));
        log::write(log::Info, "reloading %s\n", args_.config_dir.c_str());
        ++stats_.reloads;
        auto cfg = config();
        if (!cfg) {
            // A broken config changes nothing; the policies stay.
            log::write(log::Error, "reload: %s; nothing changed\n", cfg.error().message.c_str());
            ++stats_.reload_failures;
            stats_.last_reload_ok = false;
            notify("READY=1\nSTATUS=reload failed: " + cfg.error().message);
            return;
        }
        // Interfaces dropped from the configuration lose their policy.
        for (const auto& [iface, file] : cfg_.policies)
            if (!cfg->policies.count(iface)) {
                pending_.erase(iface);
                if (run_self({"unload", "--dev", iface}) != 0)
                    log::write(log::Error, "%s: unload of a policy no longer configured failed\n",
                               iface.c_str());
            }
        const std::string old_metrics = cfg_.metrics;
        cfg_ = std::move(*cfg);
        if (cfg_.metrics != old_metrics)
            log::write(log::Warn, "reload: the metrics address changes on restart only (still %s)\n",
                       old_metrics.empty() ? "off" : old_metrics.c_str());
        if (!apply_all()) ++stats_.reload_failures;
        sync_locals();
        log::write(log::Info, "%s\n", status_line().c_str());
        notify("READY=1\nSTATUS=" + status_line());
    }

    // Makes the local-address maps of every configured, loaded interface
    // hold the host's addresses of now. Under each interface's lock, so a
    // swap in progress finishes first (its new maps then get the update).
    void sync_locals() {
        auto host = rt::host_locals();
        if (!host) {
            log::write(log::Error, "%s\n", host.error().message.c_str());
            return;
        }
        for (const auto& [iface, file] : cfg_.policies) {
            if (pending_.count(iface)) continue;
            auto lock = rt::InterfaceLock::acquire(iface);
            if (!lock) continue;
            auto st = rt::read_state(iface);
            if (!st || !*st || ((*st)->netns && (*st)->netns != rt::netns_id())) continue;
            auto changed = rt::write_pinned_locals(iface, *host);
            if (!changed) {
                log::write(log::Error, "%s\n", changed.error().message.c_str());
                continue;
            }
            if (!*changed) continue;
            (*st)->locals_changed_at = now();
            (*st)->local_addresses.clear();
            (*st)->local_broadcasts.clear();
            for (const auto& a : host->addrs) (*st)->local_addresses.push_back(net::addr_str(a));
            for (const auto& a : host->broadcasts) (*st)->local_broadcasts.push_back(net::addr_str(a));
            if (auto r = rt::write_state(**st); !r) log::write(log::Error, "%s\n", r.error().message.c_str());
            ++stats_.local_updates;
            std::string list;
            for (const auto& a : host->addrs) list += " " + net::addr_str(a);
            log::write(log::Info, "%s: 'me' is now%s\n", iface.c_str(), list.c_str());
        }
    }

    void stop_policies() {
        if (cfg_.on_stop != "unload") return;
        for (const auto& [iface, file] : cfg_.policies)
            if (!pending_.count(iface) && run_self({"unload", "--dev", iface}) != 0)
                log::write(log::Error, "%s: unload failed\n", iface.c_str());
    }

    std::string status_line() const {
        size_t loaded = cfg_.policies.size() - pending_.size() - failed_.size();
        std::string s =
            std::to_string(loaded) + " of " + std::to_string(cfg_.policies.size()) + " interfaces loaded";
        if (!failed_.empty()) {
            s += "; failed (old policy kept):";
            for (const auto& f : failed_) s += " " + f;
        }
        if (!pending_.empty()) {
            s += "; waiting for:";
            for (const auto& p : pending_) s += " " + p;
        }
        return s;
    }

    DaemonArgs args_;
    rt::ServiceConfig cfg_;
    DaemonStats stats_;
    std::unique_ptr<MetricsServer> metrics_;
    std::set<std::string> pending_;  // configured, interface missing
    std::set<std::string> failed_;   // configured, last load failed
};

}  // namespace

void add_daemon(CLI::App& app, int& exit_code) {
    auto a = std::make_shared<DaemonArgs>();
    auto* d = app.add_subcommand(
        "daemon",
        "Run as a service: load the configured policies, reload on SIGHUP, follow the host's addresses");
    d->add_option("--config-dir", a->config_dir, "configuration directory (default /etc/secpol)");
    d->add_option("--metrics", a->metrics, "serve Prometheus metrics on ADDR:PORT (overrides secpol.conf)");
    d->add_option("--on-stop", a->on_stop, "on SIGTERM: keep the policies attached, or unload them")
        ->check(CLI::IsMember({"keep", "unload"}));
    d->callback([a, &exit_code] {
        if (geteuid() != 0) {
            log::write(log::Error, "secpol daemon needs root (CAP_BPF, CAP_NET_ADMIN)\n");
            exit_code = 1;
            return;
        }
        // The journal is its log: say what it does without -v.
        if (log::level() < log::Info) log::set_level(log::Info);
        exit_code = Daemon(*a).run();
    });
}

}  // namespace secpol::cli
