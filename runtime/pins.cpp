#include "pins.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

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
