#include "service_config.h"

#include <dirent.h>
#include <net/if.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>

namespace secpol::rt {

namespace {

std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return "";
    auto e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

bool valid_ifname(const std::string& n) {
    return !n.empty() && n.size() < IF_NAMESIZE && n != "." && n != ".." &&
           n.find_first_of("/ \t:") == std::string::npos;
}

Status read_conf(const std::string& path, ServiceConfig& c) {
    std::ifstream in(path);
    if (!in) {
        if (errno == ENOENT) return ok();
        return Error::sys(errno, path);
    }
    std::string line;
    for (int no = 1; std::getline(in, line); ++no) {
        auto hash = line.find('#');
        if (hash != std::string::npos) line.resize(hash);
        line = trim(line);
        if (line.empty()) continue;
        auto eq = line.find('=');
        auto where = path + ":" + std::to_string(no) + ": ";
        if (eq == std::string::npos) return Error::msg(where + "expected `key = value`", EINVAL);
        std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
        if (key == "on_stop") {
            if (value != "keep" && value != "unload")
                return Error::msg(where + "on_stop is keep or unload, not '" + value + "'", EINVAL);
            c.on_stop = value;
        } else if (key == "metrics") {
            if (!value.empty())
                if (auto a = parse_listen_address(value); !a)
                    return Error::msg(where + a.error().message, EINVAL);
            c.metrics = value;
        } else if (key == "xdp_mode") {
            if (value != "auto" && value != "native" && value != "generic")
                return Error::msg(where + "xdp_mode is auto, native or generic, not '" + value + "'", EINVAL);
            c.xdp_mode = value;
        } else {
            return Error::msg(where + "unknown key '" + key + "' (on_stop, metrics, xdp_mode)", EINVAL);
        }
    }
    return ok();
}

}  // namespace

Result<std::pair<std::string, int>> parse_listen_address(const std::string& s) {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
        return Error::msg("metrics address '" + s + "' is not ADDR:PORT", EINVAL);
    std::string host = s.substr(0, colon);
    if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    int port = 0;
    for (char ch : s.substr(colon + 1)) {
        if (ch < '0' || ch > '9') return Error::msg("metrics address '" + s + "': bad port", EINVAL);
        port = port * 10 + (ch - '0');
        if (port > 65535) return Error::msg("metrics address '" + s + "': bad port", EINVAL);
    }
    return std::make_pair(host, port);
}

Result<ServiceConfig> read_service_config(const std::string& dir) {
    ServiceConfig c;
    c.dir = dir;
    struct stat st {};
    if (stat(dir.c_str(), &st) != 0) return Error::sys(errno, "config directory " + dir);
    if (auto r = read_conf(dir + "/secpol.conf", c); !r) return r.error();
    std::string pdir = dir + "/interfaces.d";
    DIR* d = opendir(pdir.c_str());
    if (!d) {
        if (errno == ENOENT) return c;  // nothing configured yet
        return Error::sys(errno, pdir);
    }
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n.size() <= 4 || n.compare(n.size() - 4, 4, ".pol") != 0) continue;  // README, backups
        std::string iface = n.substr(0, n.size() - 4);
        if (!valid_ifname(iface)) {
            closedir(d);
            return Error::msg(pdir + "/" + n + ": '" + iface + "' is not an interface name", EINVAL);
        }
        c.policies[iface] = pdir + "/" + n;
    }
    closedir(d);
    return c;
}

}  // namespace secpol::rt
