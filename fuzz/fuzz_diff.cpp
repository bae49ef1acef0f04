// libFuzzer target: differential test of the compiled program against the
// reference classifier. The first input byte picks one of kPolicies random
// policies (generator seeds, shaped like tests/bpf/differential_test.cpp);
// the rest is a frame run through BPF_PROG_TEST_RUN in both directions and
// through ref::classify. Any disagreement aborts with both decisions printed.
// Policies are compiled and loaded lazily and kept, so the verifier runs once
// per policy, not once per input. Needs root (CAP_BPF, CAP_NET_ADMIN).
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "backend/compile.h"
#include "gen/generator.h"
#include "gen/packets.h"
#include "program.h"
#include "ref/classify.h"
#include "replay.h"

using namespace secpol;

namespace {

constexpr unsigned kPolicies = 32;

struct Slot {
    std::string text;
    std::unique_ptr<backend::Compiled> compiled;
    std::unique_ptr<rt::LoadedPolicy> loaded;
};

const net::LocalTable& locals() {
    static const net::LocalTable l = gen::default_locals();
    return l;
}

std::string policy_text(uint64_t seed) {
    static const unsigned sizes[] = {1, 4, 12, 40, 100};
    return gen::generate_policy(gen::differential_options(seed, sizes[seed % 5]));
}

Slot& slot(unsigned i) {
    static Slot slots[kPolicies];
    Slot& s = slots[i];
    if (s.loaded) return s;
    // Some generator seeds print an invalid IPv6 prefix ("2001:db8:::/32",
    // see docs/robustness.md); step to the next seed of the slot until one compiles.
    front::Diagnostics diags;
    uint64_t seed = 1000 + i;
    s.text = policy_text(seed);
    auto r = backend::compile_policy_text(s.text, "fuzz-diff-" + std::to_string(i) + ".pol", diags);
    for (int tries = 0; tries < 50 && r && !r->has_value(); ++tries) {
        seed += kPolicies;
        diags = front::Diagnostics{};
        s.text = policy_text(seed);
        r = backend::compile_policy_text(s.text, "fuzz-diff-" + std::to_string(i) + ".pol", diags);
    }
    if (!r || !r->has_value()) {
        std::ostringstream os;
        diags.print(os, s.text);
        std::fprintf(stderr, "fuzz_diff: generated policy %u does not compile: %s\n%s\n", i,
                     r ? "" : r.error().message.c_str(), os.str().c_str());
        std::abort();
    }
    s.compiled = std::make_unique<backend::Compiled>(std::move(**r));
    // The fuzzer is aimed at the generated decision code (issue 11 item 6).
    if (s.compiled->code.form != backend::WalkerForm::Generated) {
        std::fprintf(stderr, "fuzz_diff: policy %u is not built as generated code: %s\n", i,
                     s.compiled->code.reason.c_str());
        std::abort();
    }
    rt::LoadOptions lo;
    lo.trace = true;
    auto l = rt::LoadedPolicy::load(s.compiled->image, locals(), lo);
    if (!l) {
        // Not a finding about the input: the machine cannot run BPF (not root?).
        std::fprintf(stderr, "fuzz_diff: load of policy %u failed: %s\n", i, l.error().message.c_str());
        std::exit(2);
    }
    s.loaded = std::move(*l);
    return s;
}

std::string hex(const uint8_t* b, size_t n) {
    std::string s;
    char buf[4];
    for (size_t i = 0; i < n; ++i) {
        std::snprintf(buf, sizeof buf, "%02x", b[i]);
        s += buf;
    }
    return s;
}

// SECPOL_FUZZ_SEED_DIR=DIR: write aimed and adversarial frames from the
// packet generator as seed inputs (policy byte + frame), so the fuzzer starts
// from packets that reach deep into every policy's decision program.
void write_seeds(const char* dir) {
    mkdir(dir, 0755);
    for (unsigned i = 0; i < kPolicies; ++i) {
        Slot& s = slot(i);
        gen::PacketGen pg(s.compiled->policy, locals(), 7919 * (i + 1));
        for (int k = 0; k < 12; ++k) {
            auto frame = k < 9 ? pg.next() : pg.adversarial();
            std::string path = std::string(dir) + "/gen-" + std::to_string(i) + "-" + std::to_string(k);
            std::ofstream out(path, std::ios::binary);
            out.put(static_cast<char>(i));
            out.write(reinterpret_cast<const char*>(frame.data()),
                      static_cast<std::streamsize>(frame.size()));
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (const char* d = std::getenv("SECPOL_FUZZ_SEED_DIR")) write_seeds(d);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    Slot& s = slot(data[0] % kPolicies);
    std::vector<rt::Packet> pkts{rt::Packet(data + 1, data + size)};
    for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
        rt::ReplayOptions ro;
        ro.dir = dir;
        ro.locals = locals();
        auto rep = rt::replay(*s.compiled, *s.loaded, pkts, ro);
        if (!rep) {
            std::fprintf(stderr, "fuzz_diff: test run failed: %s\n", rep.error().message.c_str());
            std::abort();
        }
        for (const auto& o : rep->packets) {
            if (o.agree()) continue;
            std::fprintf(stderr,
                         "fuzz_diff: DISAGREEMENT policy %u dir %s frame %s\n  bpf: %s\n  reference: "
                         "%s\npolicy:\n%s\n",
                         data[0] % kPolicies, dir ? "out" : "in", hex(data + 1, size - 1).c_str(),
                         rt::outcome_text(s.compiled->policy, o, false).c_str(),
                         ref::decision_json(s.compiled->policy, o.ref).dump().c_str(), s.text.c_str());
            std::abort();
        }
    }
    return 0;
}
