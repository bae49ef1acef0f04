#include "input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pins.h"

namespace secpol::rt {

std::string input_name(const std::string& path) {
    return path == "-" ? "<stdin>" : path;
}

Result<std::string> read_input(const std::string& path) {
    const std::string name = input_name(path);
    UniqueFd owned;
    int fd = STDIN_FILENO;
    if (path != "-") {
        owned.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!owned) return Error::sys(errno, name);
        fd = owned.get();
    }
    struct stat st {};
    if (fstat(fd, &st) != 0) return Error::sys(errno, name);
    // std::ifstream throws std::ios_failure reading a directory; read(2) says EISDIR.
    if (S_ISDIR(st.st_mode)) return Error::msg(name + ": is a directory, not a policy file", EISDIR);
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error::sys(errno, name);
        }
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

bool is_elf(const std::string& b) {
    return b.size() >= 4 && b[0] == 0x7f && b[1] == 'E' && b[2] == 'L' && b[3] == 'F';
}

}  // namespace secpol::rt
