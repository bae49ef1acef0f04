// Quick cost figures with BPF_PROG_TEST_RUN (repeat 1,000,000) against the
// empty XDP program, and the kernel's instruction counts. Printed for the
// record (bpf/secpol.bpf.c's header comment); the asserted bound is loose so a
// loaded CI machine does not fail it. The real benchmark lives in bench/.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstdio>

#include "bpf_util.h"

using namespace secpol;
using namespace secpol::bpftest;

namespace {

constexpr int kRepeat = 1000000;

struct BpfObj {
    bpf_object* obj = nullptr;
    ~BpfObj() {
        if (obj) bpf_object__close(obj);
    }
};

uint32_t run_ns(int fd, const pkt::Bytes& b) {
    LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = b.data(), .data_size_in = static_cast<uint32_t>(b.size()),
                .repeat = kRepeat);
    EXPECT_EQ(bpf_prog_test_run_opts(fd, &o), 0);
    return o.duration;
}

// Median of interleaved rounds, so floor and subject see the same machine state.
std::vector<uint32_t> rounds(const std::vector<std::pair<int, pkt::Bytes>>& subjects, int n = 5) {
    std::vector<std::vector<uint32_t>> t(subjects.size());
    for (int r = 0; r < n; ++r)
        for (size_t i = 0; i < subjects.size(); ++i) t[i].push_back(run_ns(subjects[i].first, subjects[i].second));
    std::vector<uint32_t> med;
    for (auto& v : t) {
        std::sort(v.begin(), v.end());
        med.push_back(v[v.size() / 2]);
    }
    return med;
}

}  // namespace

TEST(Perf, FiguresAgainstTheEmptyProgram) {
    require_root();
    BpfObj empty;
    empty.obj = bpf_object__open_file(SECPOL_BUILD_DIR "/bpf/empty.bpf.o", nullptr);
    ASSERT_TRUE(empty.obj) << "open " SECPOL_BUILD_DIR "/bpf/empty.bpf.o";
    ASSERT_EQ(bpf_object__load(empty.obj), 0);
    const int empty_fd = bpf_program__fd(bpf_object__find_program_by_name(empty.obj, "empty_xdp"));

    // Windows 2000 profile, no `me`, ten filters as a first-match chain.
    std::string text = "policy \"perf\"\nexemptions windows2000\norder first-match\ndefault permit\n";
    for (int i = 0; i < 10; ++i)
        text += "block proto tcp from 10." + std::to_string(i) + ".0.0/16 to any port " + std::to_string(1000 + i) +
                " \"f" + std::to_string(i) + "\"\n";
    auto h = Harness::load(text, locals_of({"10.0.0.1/24"}), /*trace=*/false);
    ASSERT_TRUE(h);
    const int in_fd = h->loaded->ingress_fd();

    auto ike = (pkt::Ethernet{} / pkt::IPv4{} / pkt::UDP{.sport = 500, .dport = 500} / pkt::Raw::zeros(64)).bytes();
    // Matches the last filter: walks the whole chain (about 40 nodes).
    auto deep = (pkt::Ethernet{} / pkt::IPv4{.src = "10.9.1.1", .dst = "10.0.0.1"} / pkt::TCP{.dport = 1009}).bytes();
    auto miss = (pkt::Ethernet{} / pkt::IPv4{.src = "172.16.1.1", .dst = "10.0.0.1"} / pkt::TCP{.dport = 80}).bytes();
    auto m = rounds({{empty_fd, ike}, {in_fd, ike}, {in_fd, deep}, {in_fd, miss}});
    std::printf("BPF_PROG_TEST_RUN x%d, ns/packet (median of 5 interleaved rounds):\n", kRepeat);
    std::printf("  empty XDP            %3u\n", m[0]);
    std::printf("  IKE exemption hit    %3u  (%.2fx)\n", m[1], double(m[1]) / m[0]);
    std::printf("  10-filter chain, hit %3u  (%.2fx)\n", m[2], double(m[2]) / m[0]);
    std::printf("  10-filter chain, miss%3u  (%.2fx)\n", m[3], double(m[3]) / m[0]);
    for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
        auto s = h->loaded->prog_stats(dir);
        ASSERT_TRUE(s.ok());
        std::printf("  %s: xlated %u insns, jited %u bytes, verifier processed %u insns (windows2000, no me)\n",
                    dir == SECPOL_DIR_IN ? "secpol_ingress" : "secpol_egress", s->xlated_insns, s->jited_bytes,
                    s->verified_insns);
    }
    EXPECT_LT(m[1], 10 * std::max<uint32_t>(m[0], 1));  // sanity only
}
