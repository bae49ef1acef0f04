// Runs a shell command and collects its standard output (callers add any
// redirection, e.g. " 2>&1"), with its exit status (-1 when it did not exit
// normally or could not start). Shared by the CLI tests and the benchmark.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace secpol::test {

struct ShellRun {
    int status = -1;
    std::string out;
};

inline ShellRun run_shell(const std::string& cmd) {
    ShellRun r;
    FILE* f = popen(cmd.c_str(), "r");
    if (!f) return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) r.out.append(buf, n);
    int st = pclose(f);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

}  // namespace secpol::test
