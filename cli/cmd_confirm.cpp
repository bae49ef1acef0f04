// `secpol confirm` and the revert of `secpol load --confirm SECONDS`, as
// routers' "commit confirmed": the load starts a detached timer process
// (its own session, SIGHUP and SIGTERM ignored, stdio to the journal or
// /dev/null), which puts the previous policy back at the deadline unless
// `secpol confirm` removed the pending confirmation first. The timer is this
// binary again (the hidden verb `confirm-timer`), so it depends on nothing
// of the shell that ran the load.
#include <fcntl.h>
#include <sys/wait.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <iostream>
#include <memory>

#include "commands.h"
#include "load_common.h"
#include "log.h"
#include "output.h"
#include "runtime/attach.h"
#include "runtime/lock.h"
#include "runtime/netif.h"
#include "runtime/state.h"

namespace secpol::cli {

Result<std::string> revert_pending(const std::string& dev, const rt::PendingConfirm& p) {
    const std::string stays = "; policy \"" + p.new_label + "\" stays loaded, unconfirmed";
    // One line first (details, a verifier log, after it), the interface named once.
    auto failed = [&](const Error& e) {
        auto nl = e.message.find('\n');
        std::string head = e.message.substr(0, nl),
                    rest = nl == std::string::npos ? "" : e.message.substr(nl);
        if (head.rfind(dev + ": ", 0) == 0) head = head.substr(dev.size() + 2);
        return Error{e.err,
                     dev + ": putting back " +
                         (p.has_previous ? "policy \"" + p.prev_label + "\"" : std::string("no policy")) +
                         " failed: " + head + stays + rest};
    };
    std::vector<uint8_t> elf;
    if (p.has_previous) {
        auto e = rt::read_confirm_object(dev);
        if (!e) {
            rt::cancel_pending(dev);
            return failed(e.error());
        }
        elf = std::move(*e);
        if (rt::fault("revert-verifier")) inject_verifier_fault(elf);
    }
    // One attempt: whatever happens below, nothing is pending afterwards.
    if (auto r = rt::cancel_pending(dev); !r) return failed(r.error());
    if (!p.has_previous) {
        auto r = rt::uninstall(dev);
        if (!r) return failed(r.error());
        return dev + ": unloaded policy \"" + p.new_label + "\" (there was no policy before it)";
    }
    auto img = backend::ObjectImage::from_bytes(std::move(elf));
    if (!img) return failed(img.error());
    auto iface = rt::find_interface(dev);
    if (!iface) return failed(iface.error());
    auto link = rt::link_of(*iface);
    if (!link) return failed(link.error());
    auto cur = rt::inspect(*iface);
    if (!cur) return failed(cur.error());
    auto locals = locals_from(p.prev_local_spec, dev);
    if (!locals) return failed(locals.error());
    auto lp = verify_image(dev, *img, *locals, *link);
    if (!lp) return failed(lp.error());
    auto h = handles_of(dev, **lp, *img, *link, *locals, p.prev_local_spec, p.prev_policy_file);
    if (!h) return failed(h.error());
    rt::Count given[2];
    h->adjust_offsets = [&](rt::Offsets& off, const rt::RuleRows& cur_rules, const rt::RuleRows& prev_rules) {
        rt::apply_restore(off, cur_rules, prev_rules, p.restore, given);
    };
    // A swap: atomic, counters carried over like any other (a failure keeps the new policy attached).
    auto res = rt::install(*cur, *h, rt::XdpMode::Auto);
    if (!res) return failed(res.error());
    return dev + ": put back policy \"" + p.prev_label + "\" (XDP prog " +
           std::to_string(res->state.ingress_prog_id) + ", tc prog " +
           std::to_string(res->state.egress_prog_id) + "); its rules' counts given back: in " +
           std::to_string(given[0].packets) + ", out " + std::to_string(given[1].packets) + " packets";
}

Status start_confirm_timer(rt::PendingConfirm& p) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return Error::sys(errno, "timer: pipe");
    std::fflush(nullptr);  // nothing buffered is printed twice
    pid_t child = ::fork();
    if (child < 0) {
        int e = errno;
        ::close(fds[0]);
        ::close(fds[1]);
        return Error::sys(e, "timer: fork");
    }
    if (child == 0) {
        // A new session: no controlling terminal, no SIGHUP when the SSH
        // session ends, out of the shell's process group (kill -- -PGID).
        ::setsid();
        pid_t timer = ::fork();
        if (timer != 0) {
            (void)!::write(fds[1], &timer, sizeof timer);
            ::_exit(timer < 0 ? 1 : 0);
        }
        for (int s : {SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGTERM}) std::signal(s, SIG_IGN);
        sigset_t usr1;
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        sigprocmask(SIG_BLOCK, &usr1, nullptr);  // taken by sigtimedwait, never delivered
        (void)!::chdir("/");
        int null = ::open("/dev/null", O_RDWR);
        // Its messages: SECPOL_CONFIRM_LOG (a file, appended), else the journal, else nowhere.
        int err = -1;
        if (const char* f = std::getenv("SECPOL_CONFIRM_LOG"); f && *f)
            err = ::open(f, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (err < 0) err = sd_journal_stream_fd("secpol", LOG_INFO, 1);
        if (err < 0) err = null;
        ::dup2(null, STDIN_FILENO);
        ::dup2(null, STDOUT_FILENO);
        ::dup2(err, STDERR_FILENO);
        std::string dev = p.iface, token = p.token;
        std::vector<char*> argv = {const_cast<char*>("secpol"),
                                   const_cast<char*>("confirm-timer"),
                                   const_cast<char*>("--dev"),
                                   dev.data(),
                                   const_cast<char*>("--token"),
                                   token.data(),
                                   nullptr};
        ::execv("/proc/self/exe", argv.data());
        std::fprintf(stderr, "secpol: error: %s: confirm timer: exec /proc/self/exe: %s\n", dev.c_str(),
                     std::strerror(errno));
        ::_exit(127);
    }
    ::close(fds[1]);
    pid_t timer = -1;
    ssize_t n;
    while ((n = ::read(fds[0], &timer, sizeof timer)) < 0 && errno == EINTR) {
    }
    ::close(fds[0]);
    while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
    if (n != sizeof timer || timer <= 0) return Error::msg("timer: fork failed", EAGAIN);
    p.timer_pid = timer;
    p.timer_start = rt::process_start_time(timer);
    return ok();
}

namespace {

// The detached timer: waits for the deadline, or for SIGUSR1 (the pending
// confirmation was confirmed, cancelled or replaced: it then checks whether
// it still owns it), and reverts when it still does at the deadline.
int run_timer(const std::string& dev, const std::string& token) {
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, nullptr);
    auto owned = [&]() -> std::optional<rt::PendingConfirm> {
        auto p = rt::read_pending(dev);
        if (!p) {
            log::write(log::Error, "%s: confirm timer: %s\n", dev.c_str(), p.error().message.c_str());
            return std::nullopt;
        }
        if (!*p || (*p)->token != token) return std::nullopt;
        return **p;
    };
    // The deadline on the monotonic clock, from the one in the file (wall
    // clock, for people) as this timer starts: a clock step (NTP at boot)
    // neither hastens nor delays the revert.
    auto mono_ms = [] {
        timespec t{};
        clock_gettime(CLOCK_MONOTONIC, &t);
        return int64_t(t.tv_sec) * 1000 + t.tv_nsec / 1000000;
    };
    int64_t deadline = -1;
    for (;;) {
        auto p = owned();
        if (!p) {
            log::write(log::Info,
                       "%s: confirm timer %s: confirmed, replaced or unloaded; nothing to revert\n",
                       dev.c_str(), token.c_str());
            return 0;
        }
        if (deadline < 0) deadline = mono_ms() + (p->deadline_ms - rt::now_ms());
        int64_t left = deadline - mono_ms();
        if (left <= 0) break;
        timespec ts{static_cast<time_t>(left / 1000), static_cast<long>(left % 1000) * 1000000};
        sigtimedwait(&usr1, nullptr, &ts);
    }
    // The lock: a load, confirm or unload in progress finishes first, and decides.
    auto lock = rt::InterfaceLock::acquire(dev);
    if (!lock) {
        log::write(log::Error, "%s: confirm timer: %s; the unconfirmed policy stays loaded\n", dev.c_str(),
                   lock.error().message.c_str());
        return 1;
    }
    auto p = owned();
    if (!p) {
        log::write(log::Info, "%s: confirmed in time; nothing to revert\n", dev.c_str());
        return 0;
    }
    auto st = rt::read_state(dev);
    if (!st || !*st || (*st)->ingress_prog_id != p->new_ingress_prog_id) {
        rt::cancel_pending(dev);
        log::write(log::Warn,
                   "%s: the policy \"%s\" of load --confirm is no longer the one loaded; nothing reverted\n",
                   dev.c_str(), p->new_label.c_str());
        return 0;
    }
    log::write(log::Warn,
               "%s: policy \"%s\" was not confirmed within %u s (secpol confirm --dev %s); putting back %s\n",
               dev.c_str(), p->new_label.c_str(), p->seconds, dev.c_str(),
               p->has_previous ? ("policy \"" + p->prev_label + "\"").c_str() : "no policy (unloading)");
    auto r = revert_pending(dev, *p);
    if (!r) {
        log::write(log::Error, "%s\n", r.error().message.c_str());
        return 1;
    }
    log::write(log::Warn, "%s\n", r->c_str());
    return 0;
}

int run_confirm(const std::string& dev, bool as_json) {
    if (auto v = rt::validate_ifname(dev); !v) return error(v.error());
    if (auto r = rt::require_privileges(dev + ": secpol confirm"); !r) return error(r.error());
    // A revert that already started finishes first; then there is nothing to confirm.
    auto lock = rt::InterfaceLock::acquire(dev);
    if (!lock) return error(Error{lock.error().err, dev + ": " + lock.error().message});
    auto p = rt::read_pending(dev);
    if (!p) return error(Error{p.error().err, dev + ": " + p.error().message});
    if (!*p)
        return error(dev + ": no confirmation pending (no `secpol load --confirm` waits on this interface)");
    nlohmann::json j = rt::pending_json(**p);
    if (auto r = rt::cancel_pending(dev); !r)
        return error(Error{r.error().err, dev + ": " + r.error().message});
    if (as_json) {
        std::cout << nlohmann::json{{"interface", dev},
                                    {"confirmed", true},
                                    {"policy", (*p)->new_label},
                                    {"seconds_left", j["seconds_left"]},
                                    {"revert_to", j["revert_to"]}}
                         .dump(2)
                  << std::endl;
        return kOk;
    }
    std::printf("%s: confirmed policy \"%s\" (%lld s before the deadline); the revert to %s is cancelled\n",
                dev.c_str(), (*p)->new_label.c_str(),
                static_cast<long long>(j["seconds_left"].get<int64_t>()),
                (*p)->has_previous ? ("policy \"" + (*p)->prev_label + "\"").c_str() : "no policy");
    return kOk;
}

}  // namespace

void add_confirm(CLI::App& app, int& exit_code) {
    struct Args {
        std::string dev, token;
        bool json = false;
    };
    auto a = std::make_shared<Args>();
    auto* confirm = app.add_subcommand(
        "confirm", "Keep the policy of `secpol load --confirm SECONDS`: cancel its revert");
    confirm->add_option("--dev", a->dev, "interface")->required();
    add_json_flag(confirm, a->json,
                  "{\"interface\", \"confirmed\", \"policy\", \"seconds_left\", \"revert_to\"}");
    confirm->callback([a, &exit_code] { exit_code = run_confirm(a->dev, a->json); });

    // Started by load --confirm; not for people (hidden from --help).
    auto t = std::make_shared<Args>();
    auto* timer = app.add_subcommand("confirm-timer", "");
    timer->group("");
    timer->add_option("--dev", t->dev)->required();
    timer->add_option("--token", t->token)->required();
    timer->callback([t, &exit_code] {
        if (auto v = rt::validate_ifname(t->dev); !v) {
            exit_code = error(v.error());
            return;
        }
        exit_code = run_timer(t->dev, t->token);
    });
}

}  // namespace secpol::cli
