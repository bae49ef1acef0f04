#include "ab_cases.h"

#include <bpf/bpf.h>

#include <algorithm>
#include <cstdio>
#include <regex>
#include <stdexcept>
#include <tuple>

#include "cases.h"
#include "gen/generator.h"

namespace secpol::bench {

namespace {

// FNV-1a of the policy text: both sides generate their policies from the
// same seeds, and a changed generator would make them compare different
// policies; the parent compares the hashes.
std::string text_hash(const std::string& s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    char b[17];
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(h));
    return b;
}

nlohmann::json info_of(int fd) {
    nlohmann::json j = prog_info(fd);
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) throw std::runtime_error("bpf_obj_get_info_by_fd");
    j["prog_id"] = info.id;
    return j;
}

}  // namespace

AbSelect::AbSelect(const std::string& regex) : regex_(regex) {
    std::regex re(regex, std::regex::ECMAScript);
    match_ = [re](const std::string& n) { return std::regex_search(n, re); };
}

bool AbSelect::wants(const std::string& name, bool slow) const {
    return match_ ? match_(name) : !slow;
}

AbSet::~AbSet() {
    hold_.reset();  // detach before the programs go
    loaded_.clear();
}

AbSet::AbSet(const AbSelect& select) {
    const auto locals = host_locals();
    const std::string empty_obj = std::string(SECPOL_BUILD_DIR) + "/bpf/empty.bpf.o";
    empty_.reset(bpf_object__open_file(empty_obj.c_str(), nullptr));
    if (!empty_ || bpf_object__load(empty_.get()))
        throw std::runtime_error("cannot load " + empty_obj + " (root and a built tree needed)");
    {
        // The floor is always measured: every figure is read against it.
        const int fd = bpf_program__fd(bpf_object__find_program_by_name(empty_.get(), "empty_xdp"));
        cases_.push_back({kAbFloor, fd, {floor_packet()}, info_of(fd)});
    }
    auto load = [&](const std::string& text, const std::string& name) {
        const backend::Compiled& c = compiled_.emplace_back(compile_text(text, name));
        auto l = rt::LoadedPolicy::load(c.image, locals);
        if (!l) throw std::runtime_error(name + ": " + l.error().message);
        loaded_.push_back(std::move(*l));
        return std::pair<const backend::Compiled*, int>(&c, loaded_.back()->ingress_fd());
    };
    auto add = [&](std::string name, int fd, std::vector<Frame> trace, const std::string& text) {
        nlohmann::json info = info_of(fd);
        info["policy_fnv1a"] = text_hash(text);
        cases_.push_back({std::move(name), fd, std::move(trace), std::move(info)});
    };

    // The fixed cases on the special-100 policies, without and with `me`.
    const auto fixed = fixed_packets();
    for (bool with_me : {false, true}) {
        const std::string pname = special_name(with_me);
        std::vector<const FixedPacket*> want;
        for (const auto& f : fixed)
            if (select.wants(pname + ": " + f.name, false)) want.push_back(&f);
        if (want.empty()) continue;
        const std::string text = gen::generate_policy(special_options(with_me));
        const int fd = load(text, pname).second;
        for (const auto* f : want) add(pname + ": " + f->name, fd, {f->frame}, text);
    }
    // The generated traces, as the normal bench's secpol cases.
    const std::tuple<unsigned, bool, bool> sizes[] = {{10, true, false},   {100, true, false},
                                                      {10, false, false},  {100, false, false},
                                                      {10000, true, true}, {10000, false, true}};
    for (const auto& [n, fm, slow] : sizes) {
        const std::string name = std::to_string(n) + " filters, " + (fm ? "first-match" : "specificity");
        if (!select.wants(name, slow)) continue;
        std::fprintf(stderr, "%s: load\n", name.c_str());
        const std::string text = gen::generate_policy(gen::bench_options(n, fm));
        const auto [c, fd] = load(text, name);
        add(name, fd, spread_trace(*c, locals, n), text);
    }

    std::vector<int> fds;
    for (const auto& c : cases_)
        if (std::find(fds.begin(), fds.end(), c.prog_fd) == fds.end()) fds.push_back(c.prog_fd);
    hold_ = std::make_unique<DispatcherHold>(fds);
}

}  // namespace secpol::bench
