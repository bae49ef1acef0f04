#include "program_set.h"

#include <bpf/bpf.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <stdexcept>

namespace secpol::bench {

uint32_t prog_id(int fd) {
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

ProgramSet::~ProgramSet() {
    clear();
}

size_t ProgramSet::add(std::string name, Loader load) {
    Loaded l = load();
    if (l.fd < 0) throw std::runtime_error(name + ": no program fd");
    loads_ = std::max<size_t>(loads_, 1);
    progs_.push_back({std::move(name), std::move(load), std::move(l), {}});
    progs_.back().ids.push_back(prog_id(progs_.back().now.fd));
    return progs_.size() - 1;
}

void ProgramSet::hold() {
    std::vector<int> fds;
    for (const auto& p : progs_) fds.push_back(p.now.fd);
    hold_.reset();
    if (!fds.empty()) hold_ = std::make_unique<DispatcherHold>(fds);
}

void ProgramSet::reload() {
    std::vector<size_t> order(progs_.size());
    std::iota(order.begin(), order.end(), 0);
    std::mt19937 rng(static_cast<unsigned>(loads_));  // the same orders in every run
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<Loaded> next(progs_.size());
    for (size_t i : order) {
        next[i] = progs_[i].load();
        if (next[i].fd < 0) throw std::runtime_error(progs_[i].name + ": no program fd on reload");
    }
    hold_.reset();  // detach the previous load before it goes
    for (size_t i = 0; i < progs_.size(); ++i) {
        progs_[i].now = std::move(next[i]);
        progs_[i].ids.push_back(prog_id(progs_[i].now.fd));
    }
    ++loads_;
    hold();
}

void ProgramSet::clear() {
    hold_.reset();
    progs_.clear();
}

}  // namespace secpol::bench
