#include "guard.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "log.h"

namespace secpol::rt {

RollbackGuard::RollbackGuard(std::function<bool()> committed, std::function<void()> rollback) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) {
        log::write(log::Info, "rollback guard: pipe: %s (continuing without it)\n", std::strerror(errno));
        return;
    }
    std::fflush(nullptr);  // nothing buffered is printed twice
    pid_t pid = ::fork();
    if (pid < 0) {
        log::write(log::Info, "rollback guard: fork: %s (continuing without it)\n", std::strerror(errno));
        ::close(p[0]);
        ::close(p[1]);
        return;
    }
    if (pid == 0) {
        // Child: a terminal's ^C or a SIGTERM to the group must not stop the rollback.
        for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) std::signal(s, SIG_IGN);
        ::close(p[1]);
        char c = 0;
        ssize_t n;
        while ((n = ::read(p[0], &c, 1)) < 0 && errno == EINTR) {
        }
        if (n == 1 && c == 'd') ::_exit(0);  // dismissed
        if (!committed()) rollback();
        ::_exit(0);
    }
    ::close(p[0]);
    pid_ = pid;
    fd_ = p[1];
}

RollbackGuard::~RollbackGuard() {
    if (pid_ <= 0) return;
    char d = 'd';
    while (::write(fd_, &d, 1) < 0 && errno == EINTR) {
    }
    ::close(fd_);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
}

void kill_point(const char* step) {
    for (auto [env, sig] : {std::pair{"SECPOL_KILL_AT", SIGKILL}, std::pair{"SECPOL_STOP_AT", SIGSTOP}}) {
        const char* v = std::getenv(env);
        if (v && std::strcmp(v, step) == 0) ::raise(sig);
    }
}

}  // namespace secpol::rt
