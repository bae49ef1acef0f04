#include "pins.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include "netif.h"

namespace secpol::rt {

void UniqueFd::reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

std::string bpffs_root() {
    const char* env = std::getenv("SECPOL_BPFFS");
    return env && *env ? env : "/sys/fs/bpf";
}

std::string pin_dir(const std::string& iface) {
    return bpffs_root() + "/secpol/" + iface;
}

std::string pin_path(const std::string& iface, const std::string& name) {
    return pin_dir(iface) + "/" + name;
}

Status check_bpffs() {
    std::string root = bpffs_root();
    struct statfs st {};
    if (statfs(root.c_str(), &st) != 0) return Error::sys(errno, "bpffs " + root);
    if (st.f_type != BPF_FS_MAGIC)
        return Error::msg("no bpffs mounted at " + root + " (mount -t bpf bpf " + root + ")", ENOTSUP);
    return ok();
}

namespace {

struct MountEntry {
    std::string id;
    std::string dev;  // "major:minor"
    std::string fstype;
};

// The mount that holds path in a mountinfo file: the longest mount point that
// is a prefix of path (the last one listed when several are stacked).
std::optional<MountEntry> mount_of(const std::string& mountinfo, const std::string& path) {
    std::ifstream in(mountinfo);
    if (!in) return std::nullopt;
    std::optional<MountEntry> best;
    size_t best_len = 0;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string id, parent, dev, root, mp, f;
        ls >> id >> parent >> dev >> root >> mp;
        while (ls >> f && f != "-") {
        }
        std::string fstype;
        ls >> fstype;
        bool prefix = mp == "/" || path == mp || (path.rfind(mp + "/", 0) == 0);
        if (!prefix || mp.size() < best_len) continue;
        best_len = mp.size();
        best = MountEntry{id, dev, fstype};
    }
    return best;
}

std::string nsenter_hint() {
    std::string ns = netns_name();
    return "run `nsenter --net=/run/netns/" + (ns.empty() ? std::string("NS") : ns) +
           " secpol ...` instead of `ip netns exec`";
}

}  // namespace

Status check_host_bpffs() {
    std::string root = bpffs_root();
    auto mine = mount_of("/proc/self/mountinfo", root);
    auto init = mount_of("/proc/1/mountinfo", root);
    // Same mount (same id), or PID 1's mountinfo unreadable: nothing private about it.
    bool same = !mine || !init || mine->id == init->id ||
                (mine->fstype == "bpf" && init->fstype == "bpf" && mine->dev == init->dev);
    if (!same) {
        if (mine->fstype != "bpf")
            return Error::msg("this process runs in a private mount namespace where " + root +
                                  " is not the host's bpffs (the pins are hidden); " + nsenter_hint(),
                              EXDEV);
        return Error::msg(root +
                              " is a bpffs private to this mount namespace: the XDP link pinned there "
                              "would die with it; " +
                              nsenter_hint(),
                          EXDEV);
    }
    return check_bpffs();
}

Status ensure_dir(const std::string& path, unsigned mode) {
    // Creates each missing component; the parents are ours to create too.
    for (size_t pos = 1; pos != std::string::npos;) {
        pos = path.find('/', pos + 1);
        std::string part = path.substr(0, pos);
        if (mkdir(part.c_str(), mode) != 0 && errno != EEXIST) return Error::sys(errno, "mkdir " + part);
    }
    return ok();
}

Status pin_fd(int fd, const std::string& path) {
    // bpffs refuses names with a dot.
    std::string tmp = path + "__new";
    ::unlink(tmp.c_str());
    if (bpf_obj_pin(fd, tmp.c_str()) != 0) return Error::sys(errno, "pin " + path);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return Error::sys(e, "pin " + path);
    }
    return ok();
}

Result<UniqueFd> open_pin(const std::string& path) {
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0) {
        if (errno == ENOENT) return UniqueFd{};
        return Error::sys(errno, "open pin " + path);
    }
    return UniqueFd(fd);
}

std::vector<std::string> list_pins(const std::string& iface) {
    std::vector<std::string> names;
    DIR* d = opendir(pin_dir(iface).c_str());
    if (!d) return names;
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
    }
    closedir(d);
    return names;
}

std::vector<std::string> list_pin_ifaces() {
    std::vector<std::string> names;
    DIR* d = opendir((bpffs_root() + "/secpol").c_str());
    if (!d) return names;
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != ".." && e->d_type == DT_DIR) names.push_back(n);
    }
    closedir(d);
    return names;
}

Status remove_pins(const std::string& iface) {
    std::string dir = pin_dir(iface);
    for (const auto& n : list_pins(iface)) {
        std::string p = dir + "/" + n;
        if (::unlink(p.c_str()) != 0 && errno != ENOENT) return Error::sys(errno, "unpin " + p);
    }
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) return Error::sys(errno, "rmdir " + dir);
    return ok();
}

}  // namespace secpol::rt
