#include "ab.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ab_cases.h"
#include "ab_stats.h"
#include "harness.h"

namespace secpol::bench {

namespace {

std::string source_commit() {
    return shell_line("git -C '" + std::string(SECPOL_SOURCE_DIR) + "' rev-parse --short HEAD 2>/dev/null");
}

AbSelect select_of(const AbArgs& a) {
    return a.cases ? AbSelect(*a.cases) : AbSelect();
}

class Fd {
  public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) reset(), fd_ = o.fd_, o.fd_ = -1;
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    void reset() {
        if (fd_ >= 0) close(fd_);
        fd_ = -1;
    }

  private:
    int fd_;
};

// Side A: OTHER --ab-hold as a child. Its stdin is a pipe this process
// holds: closing it (here, or by the kernel when this process dies however
// it dies) makes the child exit; PR_SET_PDEATHSIG is the second line. The
// child's programs live in its own process and its private namespace, so
// nothing it loaded outlives it.
class HoldChild {
  public:
    HoldChild(const std::string& exe, const std::optional<std::string>& cases) {
        int in[2], out[2];
        if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
            throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
        std::vector<std::string> args = {exe, "--ab-hold"};
        if (cases) args.insert(args.end(), {"--ab-cases", *cases});
        pid_ = fork();
        if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
        if (pid_ == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            dup2(in[0], 0);
            dup2(out[1], 1);
            std::vector<char*> argv;
            for (auto& s : args) argv.push_back(s.data());
            argv.push_back(nullptr);
            execv(exe.c_str(), argv.data());
            std::fprintf(stderr, "secpol_bench --ab: exec %s: %s\n", exe.c_str(), std::strerror(errno));
            _exit(127);
        }
        close(in[0]);
        close(out[1]);
        stdin_ = Fd(in[1]);
        stdout_ = Fd(out[0]);
    }
    ~HoldChild() { stop(); }
    HoldChild(const HoldChild&) = delete;
    HoldChild& operator=(const HoldChild&) = delete;

    // The child's one JSON line; throws when it exits or stays silent.
    nlohmann::json hello(std::chrono::seconds timeout) {
        std::string& line = buf_;
        const auto end = std::chrono::steady_clock::now() + timeout;
        while (line.find('\n') == std::string::npos) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                throw std::runtime_error("side A did not report its programs within the timeout");
            pollfd p{stdout_.get(), POLLIN, 0};
            const int r = poll(&p, 1, static_cast<int>(left.count()));
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
            if (r == 0) continue;
            char b[4096];
            const ssize_t n = read(stdout_.get(), b, sizeof b);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0)
                throw std::runtime_error("side A exited before reporting its programs (" + status() + ")");
            line.append(b, static_cast<size_t>(n));
        }
        const std::string first = line.substr(0, line.find('\n'));
        line.erase(0, first.size() + 1);
        auto j = nlohmann::json::parse(first, nullptr, false);
        if (j.is_discarded() || !j.contains("cases"))
            throw std::runtime_error("side A printed no A/B case list (an --ab-hold of this tool?): " +
                                     first.substr(0, 200));
        return j;
    }

    void send(const std::string& line) {
        if (write(stdin_.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()))
            throw std::runtime_error("side A's hold process does not read its input (" + status() + ")");
    }

    bool alive() {
        if (pid_ <= 0) return false;
        int st = 0;
        if (waitpid(pid_, &st, WNOHANG) == pid_) {
            status_ = st, pid_ = -1;
            return false;
        }
        return true;
    }

    // Closes its stdin and waits; SIGTERM after 10 s, SIGKILL after 5 more.
    void stop() {
        stdin_.reset();
        stdout_.reset();
        if (pid_ <= 0) return;
        for (int sig : {0, SIGTERM, SIGKILL}) {
            if (sig) kill(pid_, sig);
            for (int i = 0; i < (sig ? 50 : 100); ++i) {
                if (!alive()) return;
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
        }
        waitpid(pid_, &status_, 0);
        pid_ = -1;
    }

    std::string status() {
        alive();
        if (pid_ > 0) return "running";
        if (WIFEXITED(status_)) return "exit status " + std::to_string(WEXITSTATUS(status_));
        if (WIFSIGNALED(status_)) return std::string("killed by signal ") + strsignal(WTERMSIG(status_));
        return "unknown";
    }

  private:
    pid_t pid_ = -1;
    int status_ = 0;
    std::string buf_;  // what the child printed past its last line
    Fd stdin_, stdout_;
};

std::string now_stamp() {
    char b[32];
    std::time_t t = std::time(nullptr);
    std::strftime(b, sizeof b, "%Y-%m-%dT%H%M%S", std::localtime(&t));
    return b;
}

int run(const AbArgs& a) {
    if (shell_line("cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null") == "1")
        std::fprintf(stderr, "warning: kernel.bpf_stats_enabled is 1: every run pays two clock reads\n");
    const std::string load0 = shell_line("cut -d' ' -f1-3 /proc/loadavg");
    const AbSelect select = select_of(a);  // a bad expression fails here, before anything loads
    if (access(a.other.c_str(), X_OK) != 0)
        throw std::runtime_error(a.other + ": not an executable (" + std::strerror(errno) + ")");
    HoldChild child(a.other, a.cases);
    std::fprintf(stderr, "side B (this build): loading\n");
    auto mine = std::make_unique<AbSet>(select);
    nlohmann::json hello = child.hello(std::chrono::seconds(600));

    // A's programs, by id, paired with B's cases by name.
    auto names = [](const nlohmann::json& h) {
        std::vector<std::string> v;
        for (auto& [name, _] : h["cases"].items()) v.push_back(name);
        return v;
    };
    const std::vector<std::string> a_names = names(hello);
    std::vector<std::string> b_names;
    for (const auto& c : mine->cases()) b_names.push_back(c.name);
    const Pairing pairing = pair_by_name(a_names, b_names);
    for (const auto& n : pairing.only_a)
        std::fprintf(stderr, "warning: case only in A (not paired): %s\n", n.c_str());
    for (const auto& n : pairing.only_b)
        std::fprintf(stderr, "warning: case only in B (not paired): %s\n", n.c_str());
    struct Pair {
        std::string name;
        Fd a_fd;                        // this load's
        const AbCase* b = nullptr;      // this load's
        nlohmann::json a_info, b_info;  // first load's
        std::vector<uint32_t> a_ids, b_ids;
        std::vector<double> a_rounds, b_rounds;
    };
    std::vector<Pair> pairs(pairing.both.size());
    for (size_t i = 0; i < pairs.size(); ++i) pairs[i].name = pairing.both[i];
    // Points every pair at this load's programs of both sides.
    auto attach = [&] {
        if (names(hello) != a_names) throw std::runtime_error("side A reloaded a different set of cases");
        for (auto& p : pairs) {
            p.b = nullptr;
            for (const auto& c : mine->cases())
                if (c.name == p.name) p.b = &c;
            if (!p.b) throw std::runtime_error("side B reloaded without " + p.name);
            const nlohmann::json& ai = hello["cases"][p.name];
            const uint32_t id = ai.at("prog_id").get<uint32_t>();
            p.a_fd = Fd(bpf_prog_get_fd_by_id(id));
            if (p.a_fd.get() < 0)
                throw std::runtime_error("side A's program " + std::to_string(id) + " (" + p.name +
                                         "): bpf_prog_get_fd_by_id: " + std::strerror(errno));
            if (p.a_ids.empty()) {
                p.a_info = ai, p.b_info = p.b->info;
                if (ai.value("policy_fnv1a", "") != p.b->info.value("policy_fnv1a", ""))
                    std::fprintf(
                        stderr,
                        "warning: %s: the two builds generate different policy text (generator changed)\n",
                        p.name.c_str());
            }
            p.a_ids.push_back(id);
            p.b_ids.push_back(p.b->info.value("prog_id", 0u));
        }
    };
    attach();

    const unsigned loads = std::min(a.loads, a.rounds);
    const unsigned per_load = (a.rounds + loads - 1) / loads;
    const unsigned rounds = per_load * loads;
    std::fprintf(stderr, "%zu paired cases, %u loads of %u rounds of %u packets per case and side\n",
                 pairs.size(), loads, per_load, a.repeat);
    std::vector<unsigned> load_of;
    bool a_held = true;
    for (unsigned r = 0; r < rounds; ++r) {
        const unsigned l = r / per_load;
        if (r && r % per_load == 0) {
            // New placements on both sides: A reloads while B does.
            for (auto& p : pairs) p.a_fd.reset(), p.b = nullptr;
            child.send("reload\n");
            mine.reset();
            mine = std::make_unique<AbSet>(select);
            hello = child.hello(std::chrono::seconds(600));
            attach();
        }
        load_of.push_back(l);
        for (auto& p : pairs) {
            const uint32_t per_pkt = std::max<uint32_t>(1, a.repeat / p.b->trace.size());
            auto run_a = [&] { p.a_rounds.push_back(run_trace(p.a_fd.get(), p.b->trace, per_pkt)); };
            auto run_b = [&] { p.b_rounds.push_back(run_trace(p.b->prog_fd, p.b->trace, per_pkt)); };
            if (r % 2)
                run_b(), run_a();
            else
                run_a(), run_b();
        }
        if ((r + 1) % per_load == 0) {
            // Without A's hold the runs still measure the same, but each paid a
            // dispatcher patch: say so rather than hide it.
            a_held = a_held && child.alive();
            std::fprintf(stderr, "load %u/%u: %u rounds done\n", l + 1, loads, r + 1);
        }
    }
    if (!a_held)
        std::fprintf(stderr, "warning: side A's hold process ended during the run (%s)\n",
                     child.status().c_str());

    std::vector<std::vector<double>> ar, br;
    for (const auto& p : pairs) ar.push_back(p.a_rounds), br.push_back(p.b_rounds);
    const auto rows = ab_rows(pairing, ar, br, load_of);
    const std::string load1 = shell_line("cut -d' ' -f1-3 /proc/loadavg");
    const std::string a_commit = hello.value("commit", ""), b_commit = source_commit();

    std::printf(
        "Paired A/B: A = %s (%s), B = %s (%s); %u loads of %u rounds of %u packets per case and side; load "
        "average %s before, %s after\n\n",
        a.other.c_str(), a_commit.c_str(), "this build", b_commit.c_str(), loads, per_load, a.repeat,
        load0.c_str(), load1.c_str());
    const std::string table = ab_markdown(rows, kAbFloor);
    std::printf("%s", table.c_str());

    if (!a.out_dir.empty()) {
        nlohmann::json out = {
            {"a", {{"exe", a.other}, {"commit", a_commit}, {"pid", hello.value("pid", 0)}}},
            {"b", {{"exe", std::filesystem::read_symlink("/proc/self/exe").string()}, {"commit", b_commit}}},
            {"rounds", rounds},
            {"loads", loads},
            {"repeat", a.repeat},
            {"cases_regex", a.cases ? nlohmann::json(*a.cases) : nlohmann::json(nullptr)},
            {"loadavg_before", load0},
            {"loadavg_after", load1},
            {"a_held_throughout", a_held},
            {"floor", kAbFloor},
            {"cases", ab_rows_json(rows)}};
        for (auto& j : out["cases"]) {
            for (const auto& p : pairs) {
                if (p.b->name != j["name"]) continue;
                j["a_prog"] = p.a_info;  // the first load's
                j["b_prog"] = p.b_info;
                j["a_prog_ids"] = p.a_ids;  // one per load
                j["b_prog_ids"] = p.b_ids;
                j["load_of_round"] = load_of;
                j["a_rounds_ns"] = p.a_rounds;
                j["b_rounds_ns"] = p.b_rounds;
                j["trace_packets"] = p.b->trace.size();
            }
        }
        std::filesystem::create_directories(a.out_dir);
        const std::string stem = a.out_dir + "/ab-" + now_stamp();
        std::ofstream(stem + ".json") << out.dump(2) << "\n";
        std::ofstream(stem + ".md") << table;
        std::fprintf(stderr, "wrote %s.json and %s.md\n", stem.c_str(), stem.c_str());
    }
    return 0;
}

}  // namespace

int ab_hold_main(const AbArgs& a) {
    // Only the JSON line goes to stdout, whatever the loading prints.
    const int out = dup(1);
    dup2(2, 1);
    libbpf_set_print(nullptr);
    try {
        const AbSelect select = select_of(a);
        for (;;) {
            std::optional<AbSet> set;
            set.emplace(select);
            nlohmann::json j = {{"secpol_ab_hold", 1}, {"pid", getpid()}, {"commit", source_commit()}};
            j["cases"] = nlohmann::json::object();
            for (const auto& c : set->cases()) j["cases"][c.name] = c.info;
            const std::string line = j.dump() + "\n";
            if (write(out, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 1;
            // Held until a "reload" line, end of input (the parent ended) or
            // SIGTERM (default action: the kernel unloads everything with the
            // process).
            std::string cmd;
            char ch;
            for (;;) {
                const ssize_t n = read(0, &ch, 1);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) return 0;
                if (ch == '\n') break;
                cmd += ch;
            }
            if (cmd != "reload") {
                std::fprintf(stderr, "secpol_bench --ab-hold: unknown request '%s'\n", cmd.c_str());
                return 1;
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "secpol_bench --ab-hold: %s\n", e.what());
        return 1;
    }
}

int ab_main(const AbArgs& a) {
    libbpf_set_print(nullptr);
    try {
        return run(a);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "secpol_bench --ab: %s\n", e.what());
        return 1;
    }
}

}  // namespace secpol::bench
