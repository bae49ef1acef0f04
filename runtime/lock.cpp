#include "lock.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "log.h"
#include "netif.h"
#include "state.h"

namespace secpol::rt {

std::string run_dir() {
    const char* env = std::getenv("SECPOL_RUN_DIR");
    return env && *env ? env : "/run/secpol";
}

Status ensure_run_dir() {
    std::string dir = run_dir();
    if (auto r = ensure_dir(dir, 0700); !r) return r;
    struct stat st {};
    if (stat(dir.c_str(), &st) == 0 && (st.st_mode & 077) && st.st_uid == geteuid())
        if (chmod(dir.c_str(), 0700) != 0) return Error::sys(errno, "chmod " + dir);
    return ok();
}

static std::string lock_path(const std::string& iface) {
    return run_dir() + "/" + iface + ".lock";
}

// Whether `path` still names the file open as fd (the unlink protocol of release()).
static bool names(const std::string& path, int fd) {
    struct stat held {
    }, now{};
    return fstat(fd, &held) == 0 && stat(path.c_str(), &now) == 0 && held.st_ino == now.st_ino &&
           held.st_dev == now.st_dev;
}

static bool has_state(const std::string& iface) {
    struct stat st {};
    return !(stat((state_dir(iface) + "/state.json").c_str(), &st) != 0 && errno == ENOENT);
}

// Lock files of other interfaces that nobody holds and that have no state:
// left by a secpol killed while it held one (SIGKILL, a test's timeout)
// before it wrote a state. Their names rarely repeat (test veths, renamed
// devices), so nothing else would ever unlink them. Each is taken without
// waiting (a held one is in use: left alone) and unlinked under the lock,
// as release() does, so a process about to wait on it starts over.
static void sweep_stale_locks(const std::string& keep) {
    const std::string dir = run_dir();
    DIR* d = opendir(dir.c_str());
    if (!d) return;
    while (dirent* e = readdir(d)) {
        const std::string n = e->d_name;
        const std::string suffix = ".lock";
        if (n.size() <= suffix.size() || n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0)
            continue;
        const std::string iface = n.substr(0, n.size() - suffix.size());
        if (iface == keep || !validate_ifname(iface) || has_state(iface)) continue;
        const std::string path = dir + "/" + n;
        UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
        if (!fd || flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;
        if (names(path, fd.get()) && !has_state(iface)) ::unlink(path.c_str());
    }
    closedir(d);
}

Result<InterfaceLock> InterfaceLock::acquire(const std::string& iface, Mode mode) {
    if (auto v = validate_ifname(iface); !v) return v.error();
    const std::string path = lock_path(iface);
    if (mode == Mode::Exclusive)
        if (auto dir = ensure_run_dir(); !dir) return dir.error();
    for (;;) {
        int flags = O_RDWR | O_CLOEXEC | (mode == Mode::Exclusive ? O_CREAT : 0);
        UniqueFd fd(::open(path.c_str(), flags, 0600));
        if (!fd) {
            if (errno == ENOENT) return Error::msg(iface + ": no secpol policy loaded", ENOENT);
            return Error::sys(errno, "lock " + path);
        }
        int op = mode == Mode::Exclusive ? LOCK_EX : LOCK_SH;
        if (flock(fd.get(), op | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK) return Error::sys(errno, "lock " + path);
            log::write(log::Info, "%s: waiting for another secpol on this interface\n", iface.c_str());
            while (flock(fd.get(), op) != 0)
                if (errno != EINTR) return Error::sys(errno, "lock " + path);
        }
        // The previous holder may have unlinked the file while we waited on it.
        struct stat held {
        }, now{};
        if (fstat(fd.get(), &held) != 0) return Error::sys(errno, "lock " + path);
        bool gone = stat(path.c_str(), &now) != 0;
        if (!gone && held.st_ino == now.st_ino && held.st_dev == now.st_dev) {
            if (mode == Mode::Exclusive) sweep_stale_locks(iface);
            return InterfaceLock(std::move(fd), iface);
        }
        if (gone && mode == Mode::Shared) return Error::msg(iface + ": no secpol policy loaded", ENOENT);
    }
}

InterfaceLock& InterfaceLock::operator=(InterfaceLock&& o) {
    if (this != &o) {
        release();
        fd_ = std::move(o.fd_);
        iface_ = std::move(o.iface_);
    }
    return *this;
}

void InterfaceLock::release() {
    if (!fd_) return;
    // Still holding it: nobody can be between "state written" and here.
    if (!has_state(iface_)) ::unlink(lock_path(iface_).c_str());
    fd_.reset();
}

InterfaceLock::~InterfaceLock() {
    release();
}

}  // namespace secpol::rt
