// libFuzzer target: the reference classifier's packet path (parse + classify
// in both directions) on arbitrary frames, under one fixed generated policy
// that uses every field kind (IPv6, me, secure, tunnel, ICMP, sets).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>

#include "front/frontend.h"
#include "gen/generator.h"
#include "gen/packets.h"
#include "ref/classify.h"

namespace {

struct Fixture {
    secpol::ir::Policy policy;
    secpol::net::LocalTable locals;
};

const Fixture& fixture() {
    static const Fixture* f = [] {
        secpol::gen::Options o;
        o.seed = 6;
        o.filters = 60;
        o.random = true;
        o.exemptions = "{ broadcast multicast rsvp ike kerberos ike-nat-t nd dhcp }";
        o.tunnel_share = 0.15;
        o.secure_share = 0.25;
        o.v6_share = 0.4;
        // Some generator seeds print an invalid IPv6 prefix ("2001:db8:::/32",
        // see docs/robustness.md); take the first seed that compiles.
        std::optional<secpol::ir::Policy> pol;
        for (int tries = 0; tries < 50 && !pol; ++tries, ++o.seed) {
            secpol::front::Diagnostics diags;
            pol = secpol::front::compile_text(secpol::gen::generate_policy(o), "fuzz-packet.pol", diags);
        }
        if (!pol) {
            std::fprintf(stderr, "fuzz_packet: fixed policy does not compile\n");
            std::abort();
        }
        return new Fixture{std::move(*pol), secpol::gen::default_locals()};
    }();
    return *f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto& f = fixture();
    // Exact-size heap copy so ASan sees any read past the frame.
    std::unique_ptr<uint8_t[]> buf(new uint8_t[size ? size : 1]);
    if (size) __builtin_memcpy(buf.get(), data, size);
    const auto p = secpol::ref::parse(buf.get(), size);
    for (int dir : {SECPOL_DIR_IN, SECPOL_DIR_OUT}) {
        const auto d = secpol::ref::classify(f.policy, buf.get(), size, dir, f.locals);
        // The verdict is one of the two the ABI defines, whatever the bytes.
        if (d.verdict != SECPOL_V_PERMIT && d.verdict != SECPOL_V_BLOCK) __builtin_trap();
        if (d.filter >= static_cast<int>(f.policy.filters.size())) __builtin_trap();
        (void)secpol::ref::decision_json(f.policy, d).dump();
    }
    (void)p;
    return 0;
}
