#include "confirm.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>

#include "lock.h"
#include "pins.h"
#include "state.h"

namespace secpol::rt {

using nlohmann::json;

std::string confirm_path(const std::string& iface) {
    return state_dir(iface) + "/confirm.json";
}

std::string confirm_object_path(const std::string& iface) {
    return state_dir(iface) + "/confirm.o";
}

json PendingConfirm::to_json() const {
    json j = {{"format", "secpol-confirm-1"},
              {"interface", iface},
              {"token", token},
              {"started_at", started_at},
              {"deadline_ms", deadline_ms},
              {"seconds", seconds},
              {"new_ingress_prog_id", new_ingress_prog_id},
              {"new_label", new_label},
              {"timer_pid", timer_pid},
              {"timer_start", timer_start},
              {"previous", nullptr},
              {"restore", restore}};
    if (has_previous)
        j["previous"] = {
            {"label", prev_label}, {"policy_file", prev_policy_file}, {"local", prev_local_spec}};
    return j;
}

Result<PendingConfirm> PendingConfirm::from_json(const json& j) {
    try {
        if (j.value("format", "") != "secpol-confirm-1") return Error::msg("unknown confirmation format");
        PendingConfirm p;
        p.iface = j.at("interface").get<std::string>();
        p.token = j.at("token").get<std::string>();
        p.started_at = j.value("started_at", int64_t{0});
        p.deadline_ms = j.at("deadline_ms").get<int64_t>();
        p.seconds = j.value("seconds", 0u);
        p.new_ingress_prog_id = j.value("new_ingress_prog_id", 0u);
        p.new_label = j.value("new_label", "");
        p.timer_pid = j.value("timer_pid", 0);
        p.timer_start = j.value("timer_start", uint64_t{0});
        const json& prev = j.at("previous");
        p.has_previous = prev.is_object();
        if (p.has_previous) {
            p.prev_label = prev.value("label", "");
            p.prev_policy_file = prev.value("policy_file", "");
            p.prev_local_spec = prev.value("local", std::vector<std::string>{});
        }
        p.restore = j.value("restore", json::array());
        if (!p.restore.is_array()) return Error::msg("\"restore\" is not an array");
        return p;
    } catch (const json::exception& e) {
        return Error::msg(std::string("malformed confirmation: ") + e.what());
    }
}

Result<std::optional<PendingConfirm>> read_pending(const std::string& iface) {
    std::string path = confirm_path(iface);
    std::ifstream in(path);
    if (!in) {
        if (errno == ENOENT) return std::optional<PendingConfirm>{};
        return Error::sys(errno, path);
    }
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded()) return Error::msg(path + ": not valid JSON");
    auto p = PendingConfirm::from_json(j);
    if (!p) return Error::msg(path + ": " + p.error().message);
    return std::optional<PendingConfirm>(std::move(*p));
}

namespace {

Status write_atomic(const std::string& path, const char* data, size_t size) {
    std::string tmp = path + ".tmp";
    errno = 0;
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(data, static_cast<std::streamsize>(size));
        out.flush();
        if (!out) {
            int e = errno ? errno : EIO;
            ::unlink(tmp.c_str());
            return Error::sys(e, "write " + tmp);
        }
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return Error::sys(e, "rename " + tmp);
    }
    return ok();
}

}  // namespace

Status write_pending(const PendingConfirm& p) {
    if (auto r = ensure_run_dir(); !r) return r;
    if (auto r = ensure_dir(state_dir(p.iface), 0700); !r) return r;
    std::string text = p.to_json().dump(1) + "\n";
    return write_atomic(confirm_path(p.iface), text.data(), text.size());
}

Status write_confirm_object(const std::string& iface, const std::vector<uint8_t>& elf) {
    if (auto r = ensure_run_dir(); !r) return r;
    if (auto r = ensure_dir(state_dir(iface), 0700); !r) return r;
    return write_atomic(confirm_object_path(iface), reinterpret_cast<const char*>(elf.data()), elf.size());
}

Result<std::vector<uint8_t>> read_confirm_object(const std::string& iface) {
    std::string path = confirm_object_path(iface);
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error::sys(errno, path);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

namespace {

// /proc/PID/stat: (state, start time in clock ticks); ('?', 0) when unreadable.
std::pair<char, uint64_t> proc_stat(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    auto rp = s.rfind(')');
    if (rp == std::string::npos || rp + 2 >= s.size()) return {'?', 0};
    std::istringstream fields(s.substr(rp + 2));
    std::string f;
    char state = '?';
    for (int i = 3; i <= 22 && fields >> f; ++i) {
        if (i == 3) state = f[0];
        if (i == 22) return {state, std::strtoull(f.c_str(), nullptr, 10)};
    }
    return {'?', 0};
}

}  // namespace

uint64_t process_start_time(pid_t pid) {
    return proc_stat(pid).second;
}

bool timer_alive(const PendingConfirm& p) {
    if (p.timer_pid <= 0 || !p.timer_start) return false;
    auto [state, start] = proc_stat(p.timer_pid);
    // A zombie has exited (its parent, init, has not reaped it yet).
    return start == p.timer_start && state != 'Z' && state != 'X';
}

void wake_timer(const PendingConfirm& p) {
    if (timer_alive(p) && p.timer_pid != ::getpid()) ::kill(p.timer_pid, SIGUSR1);
}

Status cancel_pending(const std::string& iface) {
    auto p = read_pending(iface);
    for (const std::string& f : {confirm_path(iface), confirm_path(iface) + ".tmp",
                                 confirm_object_path(iface), confirm_object_path(iface) + ".tmp"})
        if (::unlink(f.c_str()) != 0 && errno != ENOENT) return Error::sys(errno, "remove " + f);
    if (p && *p) wake_timer(**p);
    return ok();
}

json restore_entries(const RuleRows& old_rules, const Slots& old_totals, const RuleRows& new_rules) {
    auto at = [&](size_t i) { return i < old_totals.size() ? old_totals[i] : Count{}; };
    std::vector<bool> continued(old_rules.size(), false);
    for (int m : match_rules(old_rules, new_rules))
        if (m >= 0) continued[m] = true;
    json out = json::array();
    for (size_t i = 0; i < old_rules.size(); ++i) {
        if (continued[i]) continue;
        json slots = json::array();
        bool any = false;
        for (unsigned d = 0; d < 2; ++d)
            for (unsigned v = 0; v < SECPOL_RV_COUNT; ++v) {
                Count c = at(rule_slot(i, d, v));
                any = any || c.packets || c.bytes;
                slots.push_back({c.packets, c.bytes});
            }
        if (any) out.push_back({{"id", i}, {"slots", slots}});
    }
    return out;
}

void apply_restore(Offsets& off, const RuleRows& cur_rules, const RuleRows& prev_rules, const json& restore,
                   Count given[2]) {
    given[0] = given[1] = Count{};
    // Previous rules the revert's carry-over continues from a current rule already have their counts.
    std::vector<bool> continued(prev_rules.size(), false);
    auto match = match_rules(cur_rules, prev_rules);
    for (size_t j = 0; j < match.size(); ++j) continued[j] = match[j] >= 0;
    struct Give {
        size_t id;
        Count c[2][SECPOL_RV_COUNT];
    };
    std::vector<Give> gives;
    Count sum[2];
    // A record this secpol wrote; one that does not parse gives nothing back.
    try {
        for (const auto& e : restore) {
            if (!e.is_object() || !e.contains("id") || !e["id"].is_number_unsigned()) continue;
            size_t id = e["id"].get<size_t>();
            const json& s = e.value("slots", json::array());
            if (id >= prev_rules.size() || continued[id] || !s.is_array() ||
                s.size() != 2 * SECPOL_RV_COUNT || rule_slot(id, 1, SECPOL_RV_COUNT - 1) >= off.slots.size())
                continue;
            Give g{id, {}};
            for (unsigned d = 0; d < 2; ++d)
                for (unsigned v = 0; v < SECPOL_RV_COUNT; ++v) {
                    const json& pb = s[d * SECPOL_RV_COUNT + v];
                    g.c[d][v] = Count{pb.at(0).get<int64_t>(), pb.at(1).get<int64_t>()};
                    sum[d] += g.c[d][v];
                }
            gives.push_back(g);
        }
    } catch (const json::exception&) {
        return;
    }
    // `retired` holds these counts unless a reset zeroed it since: then they are not given back.
    for (unsigned d = 0; d < 2; ++d)
        if (off.retired[d].packets < sum[d].packets || off.retired[d].bytes < sum[d].bytes) return;
    for (const auto& g : gives)
        for (unsigned d = 0; d < 2; ++d)
            for (unsigned v = 0; v < SECPOL_RV_COUNT; ++v) off.slots[rule_slot(g.id, d, v)] += g.c[d][v];
    for (unsigned d = 0; d < 2; ++d) {
        off.retired[d].packets -= sum[d].packets;
        off.retired[d].bytes -= sum[d].bytes;
        given[d] = sum[d];
    }
}

std::string new_token() {
    unsigned char b[8] = {};
    if (::getrandom(b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) {
        uint64_t x = static_cast<uint64_t>(::getpid()) ^ static_cast<uint64_t>(::time(nullptr)) << 20;
        std::memcpy(b, &x, sizeof b);
    }
    char s[17];
    for (int i = 0; i < 8; ++i) std::snprintf(s + 2 * i, 3, "%02x", b[i]);
    return s;
}

int64_t now_ms() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

json pending_json(const PendingConfirm& p) {
    int64_t left = p.deadline_ms - now_ms();
    int64_t deadline_s = (p.deadline_ms + 999) / 1000;
    json j = {{"policy", p.new_label},
              {"seconds", p.seconds},
              {"deadline", format_time(deadline_s)},
              {"deadline_unix", deadline_s},
              {"seconds_left", left > 0 ? (left + 999) / 1000 : 0},
              {"revert_to", nullptr},
              {"timer_pid", p.timer_pid},
              {"timer_running", timer_alive(p)}};
    if (p.has_previous) j["revert_to"] = {{"policy", p.prev_label}, {"policy_file", p.prev_policy_file}};
    return j;
}

}  // namespace secpol::rt
