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
#include <nlohmann/json.hpp>
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

std::string shell_line(const std::string& cmd) {
    std::string out;
    if (FILE* p = popen(cmd.c_str(), "r")) {
        char b[256];
        if (fgets(b, sizeof b, p)) out = b;
        pclose(p);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

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
        std::string line;
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
        auto j = nlohmann::json::parse(line.substr(0, line.find('\n')), nullptr, false);
        if (j.is_discarded() || !j.contains("cases"))
            throw std::runtime_error("side A printed no A/B case list (an --ab-hold of this tool?): " +
                                     line.substr(0, 200));
        return j;
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
    AbSet mine(select);
    const nlohmann::json hello = child.hello(std::chrono::seconds(600));

    // A's programs, by id, paired with B's cases by name.
    std::vector<std::string> a_names, b_names;
    for (auto& [name, _] : hello["cases"].items()) a_names.push_back(name);
    for (const auto& c : mine.cases()) b_names.push_back(c.name);
    const Pairing pairing = pair_by_name(a_names, b_names);
    for (const auto& n : pairing.only_a)
        std::fprintf(stderr, "warning: case only in A (not paired): %s\n", n.c_str());
    for (const auto& n : pairing.only_b)
        std::fprintf(stderr, "warning: case only in B (not paired): %s\n", n.c_str());
    struct Pair {
        const AbCase* b;
        Fd a_fd;
        nlohmann::json a_info;
        std::vector<double> a_rounds, b_rounds;
    };
    std::vector<Pair> pairs;
    for (const auto& name : pairing.both) {
        const AbCase* b = nullptr;
        for (const auto& c : mine.cases())
            if (c.name == name) b = &c;
        const nlohmann::json& ai = hello["cases"][name];
        const uint32_t id = ai.at("prog_id").get<uint32_t>();
        Fd fd(bpf_prog_get_fd_by_id(id));
        if (fd.get() < 0)
            throw std::runtime_error("side A's program " + std::to_string(id) + " (" + name +
                                     "): bpf_prog_get_fd_by_id: " + std::strerror(errno));
        if (ai.value("policy_fnv1a", "") != b->info.value("policy_fnv1a", ""))
            std::fprintf(stderr,
                         "warning: %s: the two builds generate different policy text (generator changed)\n",
                         name.c_str());
        pairs.push_back({b, std::move(fd), ai, {}, {}});
    }

    std::fprintf(stderr, "%zu paired cases, %u rounds of %u packets per case and side\n", pairs.size(),
                 a.rounds, a.repeat);
    for (unsigned r = 0; r < a.rounds; ++r) {
        for (auto& p : pairs) {
            const uint32_t per_pkt = std::max<uint32_t>(1, a.repeat / p.b->trace.size());
            auto run_a = [&] { p.a_rounds.push_back(run_trace(p.a_fd.get(), p.b->trace, per_pkt)); };
            auto run_b = [&] { p.b_rounds.push_back(run_trace(p.b->prog_fd, p.b->trace, per_pkt)); };
            if (r % 2)
                run_b(), run_a();
            else
                run_a(), run_b();
        }
        if ((r + 1) % 10 == 0 || r + 1 == a.rounds)
            std::fprintf(stderr, "round %u/%u done\n", r + 1, a.rounds);
    }
    // Without A's hold the runs still measure the same, but each paid a
    // dispatcher patch: say so rather than hide it.
    const bool a_held = child.alive();
    if (!a_held)
        std::fprintf(stderr, "warning: side A's hold process ended during the run (%s)\n",
                     child.status().c_str());

    std::vector<std::vector<double>> ar, br;
    for (const auto& p : pairs) ar.push_back(p.a_rounds), br.push_back(p.b_rounds);
    const auto rows = ab_rows(pairing, ar, br);
    const std::string load1 = shell_line("cut -d' ' -f1-3 /proc/loadavg");
    const std::string a_commit = hello.value("commit", ""), b_commit = source_commit();

    std::printf(
        "Paired A/B: A = %s (%s), B = %s (%s); %u rounds of %u packets per case and side; load average %s "
        "before, %s after\n\n",
        a.other.c_str(), a_commit.c_str(), "this build", b_commit.c_str(), a.rounds, a.repeat, load0.c_str(),
        load1.c_str());
    const std::string table = ab_markdown(rows, kAbFloor);
    std::printf("%s", table.c_str());

    if (!a.out_dir.empty()) {
        nlohmann::json out = {
            {"a", {{"exe", a.other}, {"commit", a_commit}, {"pid", hello.value("pid", 0)}}},
            {"b", {{"exe", std::filesystem::read_symlink("/proc/self/exe").string()}, {"commit", b_commit}}},
            {"rounds", a.rounds},
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
                j["a_prog"] = p.a_info;
                j["b_prog"] = p.b->info;
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
        AbSet set(select_of(a));
        nlohmann::json j = {{"secpol_ab_hold", 1}, {"pid", getpid()}, {"commit", source_commit()}};
        j["cases"] = nlohmann::json::object();
        for (const auto& c : set.cases()) j["cases"][c.name] = c.info;
        const std::string line = j.dump() + "\n";
        if (write(out, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 1;
        close(out);
        // Held until stdin closes (the parent ended) or SIGTERM (default
        // action: the kernel unloads everything with the process).
        char b[256];
        for (;;) {
            const ssize_t n = read(0, b, sizeof b);
            if (n == 0 || (n < 0 && errno != EINTR)) break;
        }
        return 0;
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
