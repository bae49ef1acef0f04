#include "state.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <fstream>

#include "guard.h"
#include "lock.h"
#include "pins.h"

namespace secpol::rt {

std::string state_dir(const std::string& iface) {
    return run_dir() + "/" + iface;
}

nlohmann::json IfaceState::to_json() const {
    return {{"format", "secpol-state-1"},
            {"interface", iface},
            {"ifindex", ifindex},
            {"netns", netns},
            {"label", label},
            {"policy_file", policy_file},
            {"loaded_at", loaded_at},
            {"replaced_at", replaced_at},
            {"locals_changed_at", locals_changed_at},
            {"generation", generation},
            {"xdp", {{"mode", xdp_mode}, {"link_id", xdp_link_id}, {"prog_id", ingress_prog_id}}},
            {"tc",
             {{"prog_id", egress_prog_id},
              {"handle", tc_handle},
              {"priority", tc_priority},
              {"created_clsact", created_clsact}}},
            {"local_addresses", local_addresses},
            {"local_broadcasts", local_broadcasts},
            {"local_spec", local_spec},
            {"counters_map_id", counters_map_id},
            {"nrules", nrules},
            {"offsets", offsets_to_json(offsets)}};
}

Result<IfaceState> IfaceState::from_json(const nlohmann::json& j) {
    try {
        if (j.value("format", "") != "secpol-state-1") return Error::msg("unknown state format");
        IfaceState s;
        s.iface = j.at("interface");
        s.ifindex = j.at("ifindex");
        s.netns = j.value("netns", uint64_t{0});
        s.label = j.value("label", "");
        s.policy_file = j.value("policy_file", "");
        s.loaded_at = j.value("loaded_at", int64_t{0});
        s.replaced_at = j.value("replaced_at", int64_t{0});
        s.locals_changed_at = j.value("locals_changed_at", int64_t{0});
        s.generation = j.value("generation", 1u);
        const auto& x = j.at("xdp");
        s.xdp_mode = x.value("mode", "");
        s.xdp_link_id = x.value("link_id", 0u);
        s.ingress_prog_id = x.value("prog_id", 0u);
        const auto& t = j.at("tc");
        s.egress_prog_id = t.value("prog_id", 0u);
        s.tc_handle = t.value("handle", 0u);
        s.tc_priority = t.value("priority", 0u);
        s.created_clsact = t.value("created_clsact", false);
        s.local_addresses = j.value("local_addresses", std::vector<std::string>{});
        s.local_broadcasts = j.value("local_broadcasts", std::vector<std::string>{});
        s.local_spec = j.value("local_spec", std::vector<std::string>{});
        s.counters_map_id = j.value("counters_map_id", 0u);
        s.nrules = j.value("nrules", 0u);
        // Before meta.json existed the meta was embedded here.
        s.meta = j.value("meta", nlohmann::json::object());
        s.offsets = offsets_from_json(j.value("offsets", nlohmann::json::object()), slot_count(s.nrules));
        return s;
    } catch (const nlohmann::json::exception& e) {
        return Error::msg(std::string("malformed state: ") + e.what());
    }
}

Result<std::optional<IfaceState>> read_state(const std::string& iface) {
    std::string path = state_dir(iface) + "/state.json";
    std::ifstream in(path);
    if (!in) {
        if (errno == ENOENT) return std::optional<IfaceState>{};
        return Error::sys(errno, path);
    }
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded()) return Error::msg(path + ": not valid JSON");
    auto s = IfaceState::from_json(j);
    if (!s) return Error::msg(path + ": " + s.error().message);
    return std::optional<IfaceState>(std::move(*s));
}

// Writes path.tmp in full (ENOSPC shows here, before anything is replaced).
static Status write_tmp(const std::string& path, const std::string& data) {
    std::string tmp = path + ".tmp";
    errno = 0;
    std::ofstream out(tmp, std::ios::trunc);
    out << data;
    out.flush();
    if (!out) {
        int e = errno ? errno : EIO;
        out.close();
        ::unlink(tmp.c_str());
        return Error::sys(e, "write " + tmp);
    }
    return ok();
}

static Status rename_tmp(const std::string& path) {
    std::string tmp = path + ".tmp";
    if (::rename(tmp.c_str(), path.c_str()) != 0) return Error::sys(errno, "rename " + tmp);
    return ok();
}

// The whole file in one read (a character at a time was a tenth of a
// command's time at 100,000 rules). ENOENT is reported as such.
static Status read_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) return Error::sys(errno, path);
    const std::streamoff size = in.tellg();
    if (size < 0) return Error::sys(errno ? errno : EIO, path);
    out.resize(static_cast<size_t>(size));
    in.seekg(0);
    if (!in.read(out.data(), size)) return Error::sys(errno ? errno : EIO, "read " + path);
    return ok();
}

Status load_meta_text(IfaceState& st) {
    if (st.meta.empty() && st.meta_text.empty())
        if (auto r = read_file(state_dir(st.iface) + "/meta.json", st.meta_text); !r) return r;
    if (!st.has_source) {
        Status r = read_file(state_dir(st.iface) + "/policy.pol", st.source);
        st.has_source = bool(r);
        if (!r) st.source.clear();
    }
    return ok();
}

// All files are written to .tmp first, then renamed: a full disk fails
// before any is replaced, and state.json (renamed last) is the commit.
// meta.json and policy.pol are written only with a meta in hand (a load or
// a swap); a counter reset rewrites state.json alone.
Status write_state(const IfaceState& st) {
    std::string dir = state_dir(st.iface);
    if (auto r = ensure_run_dir(); !r) return r;
    if (auto r = ensure_dir(dir, 0700); !r) return r;
    auto drop_tmps = [&] {
        for (const char* f : {"/policy.pol.tmp", "/meta.json.tmp", "/state.json.tmp"})
            ::unlink((dir + f).c_str());
    };
    const bool with_text = !st.meta_text.empty();
    const bool with_meta = with_text || !st.meta.empty();
    const bool src = st.has_source || (st.meta.contains("source") && st.meta["source"].is_string());
    if (src)
        if (auto r = write_tmp(dir + "/policy.pol",
                               st.has_source ? st.source : st.meta["source"].get<std::string>());
            !r)
            return r;
    if (with_meta) {
        Status r = ok();
        if (with_text) {
            r = write_tmp(dir + "/meta.json", st.meta_text);
        } else {
            // The source is in policy.pol already: the meta keeps the rule table.
            nlohmann::json m = st.meta;
            m.erase("source");
            r = write_tmp(dir + "/meta.json", m.dump() + "\n");
        }
        if (!r) {
            drop_tmps();
            return r;
        }
    }
    if (auto r = write_tmp(dir + "/state.json", st.to_json().dump(1) + "\n"); !r) {
        drop_tmps();
        return r;
    }
    kill_point("state-tmp");
    if (src)
        if (auto r = rename_tmp(dir + "/policy.pol"); !r) return r;
    kill_point("policy-renamed");
    if (with_meta)
        if (auto r = rename_tmp(dir + "/meta.json"); !r) return r;
    return rename_tmp(dir + "/state.json");
}

Status remove_state(const std::string& iface) {
    std::string dir = state_dir(iface);
    // confirm.*: a pending `load --confirm` (confirm.h) dies with the state.
    for (const char* f :
         {"/state.json", "/state.json.tmp", "/policy.pol", "/policy.pol.tmp", "/meta.json", "/meta.json.tmp",
          "/confirm.json", "/confirm.json.tmp", "/confirm.o", "/confirm.o.tmp"}) {
        std::string p = dir + f;
        if (::unlink(p.c_str()) != 0 && errno != ENOENT) return Error::sys(errno, "remove " + p);
    }
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) return Error::sys(errno, "remove " + dir);
    return ok();
}

std::vector<std::string> list_state_ifaces() {
    std::vector<std::string> out;
    DIR* d = opendir(run_dir().c_str());
    if (!d) return out;
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        struct stat st {};
        if (stat((run_dir() + "/" + n + "/state.json").c_str(), &st) == 0) out.push_back(n);
    }
    closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

std::string format_time(int64_t t) {
    time_t tt = static_cast<time_t>(t);
    struct tm tm {};
    gmtime_r(&tt, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace secpol::rt
