// Shared helpers of the BPF tests: a root check that fails loudly, a tiny
// linear "compiler" from IR filters to decision nodes (independent of the real
// tree builder, so these tests pin down the BPF program and loader alone), and
// a harness that loads a policy and runs frames through both the kernel and
// the reference classifier.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "backend/compile.h"
#include "counters.h"
#include "front/frontend.h"
#include "packet/builder.h"
#include "program.h"
#include "ref/classify.h"

namespace secpol::bpftest {

// A tunnel-mode filter and a filter that its transit traffic must not reach
// (the IKE it carries), shared by the IPsec and the packed-decision tests.
inline constexpr const char* kTunnelPolicy = R"(policy "tunnel"
exemptions windows2000
order first-match
default permit
secure from 10.1.0.0/16 to 10.2.0.0/16 tunnel 203.0.113.9 "site to site"
block proto udp from any to any port 500 "no ike elsewhere"
)";

// These tests need the kernel: not being root is a failure, never a skip.
inline void require_root() {
    ASSERT_EQ(geteuid(), 0u) << "the BPF tests load programs and must run as root (sudo build/bpf_tests)";
}

struct Cond {
    uint32_t field, lo, hi;
};

// Conditions for an address match on the src (SRC0) or dst (DST0) words.
inline void addr_conds(const ir::AddrMatch& m, bool src, std::vector<Cond>& out) {
    const uint32_t base = src ? SECPOL_F_SRC0 : SECPOL_F_DST0;
    if (m.kind == ir::AddrMatch::Kind::Me) {
        out.push_back({src ? uint32_t(SECPOL_F_SRC_LOCAL) : uint32_t(SECPOL_F_DST_LOCAL), 1, 1});
        return;
    }
    if (m.kind != ir::AddrMatch::Kind::Prefix) return;
    unsigned bits = m.prefix.len;
    for (uint32_t i = 0; i < 4 && bits > 0; ++i) {
        uint32_t mask = bits >= 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
        uint32_t lo = m.prefix.w[i] & mask;
        out.push_back({base + i, lo, lo | ~mask});
        bits = bits >= 32 ? bits - 32 : 0;
    }
}

// A first-match chain per direction: each filter becomes its alternatives
// (as written; secure on addresses alone for protected packets; the outer
// header of a tunnel), each alternative a chain of range tests. Faithful to
// docs/semantics.md section 4 for policies whose IPv6 prefixes do not cover
// ::ffff:0:0/96.
inline tree::Program linear_program(const ir::Policy& pol) {
    tree::Program prog;
    auto& nodes = prog.nodes;
    auto build = [&](int dir) -> uint32_t {
        std::vector<std::pair<uint32_t, std::vector<Cond>>> alts;  // rule id, conditions
        for (const auto& f : pol.filters) {
            if (f.dir != ir::Dir::Both && (f.dir == ir::Dir::In) != (dir == SECPOL_DIR_IN)) continue;
            std::vector<Cond> addrs, tun;
            addr_conds(f.src, true, addrs);
            addr_conds(f.dst, false, addrs);
            if (f.tunnel)
                tun = {{SECPOL_F_SRC_LOCAL, 0, 0}, {SECPOL_F_DST_LOCAL, 0, 0}, {SECPOL_F_MCBC, 0, 0}};
            std::vector<Cond> full = addrs;
            full.insert(full.end(), tun.begin(), tun.end());
            if (f.proto) full.push_back({SECPOL_F_PROTO, *f.proto, *f.proto});
            if (f.l4_given) {
                full.push_back({SECPOL_F_FRAG, 0, 0});
                full.push_back({SECPOL_F_SPORT, f.sport.lo, f.sport.hi});
                full.push_back({SECPOL_F_DPORT, f.dport.lo, f.dport.hi});
            }
            alts.push_back({f.rule_id, full});
            if (pol.rules.at(f.rule_id).action.kind == ir::Action::Secure) {
                std::vector<Cond> sec = {{SECPOL_F_IPSEC, 1, 1}};
                sec.insert(sec.end(), addrs.begin(), addrs.end());
                sec.insert(sec.end(), tun.begin(), tun.end());
                alts.push_back({f.rule_id, sec});
            }
            if (f.tunnel) {
                ir::AddrMatch ep{ir::AddrMatch::Kind::Prefix, f.endpoint};
                std::vector<Cond> a = {
                    {SECPOL_F_IPSEC, 1, 1}, {SECPOL_F_MCBC, 0, 0}, {SECPOL_F_DST_LOCAL, 1, 1}};
                addr_conds(ep, true, a);
                std::vector<Cond> b = {
                    {SECPOL_F_IPSEC, 1, 1}, {SECPOL_F_MCBC, 0, 0}, {SECPOL_F_SRC_LOCAL, 1, 1}};
                addr_conds(ep, false, b);
                alts.push_back({f.rule_id, a});
                alts.push_back({f.rule_id, b});
            }
        }
        // Emit back to front so every fail edge knows its target.
        uint32_t next = static_cast<uint32_t>(nodes.size());
        nodes.push_back({SECPOL_NODE_NOMATCH, 0, 0, 0, 0, 0});
        for (auto it = alts.rbegin(); it != alts.rend(); ++it) {
            uint32_t match = static_cast<uint32_t>(nodes.size());
            nodes.push_back({SECPOL_NODE_MATCH, it->first, 0, 0, 0, 0});
            uint32_t pass = match;
            for (auto c = it->second.rbegin(); c != it->second.rend(); ++c) {
                nodes.push_back({c->field, c->lo, c->hi, pass, next, 0});
                pass = static_cast<uint32_t>(nodes.size() - 1);
            }
            next = pass;
        }
        return next;
    };
    prog.root_in = build(SECPOL_DIR_IN);
    prog.root_out = build(SECPOL_DIR_OUT);
    prog.max_steps = 0;  // not computed; tests keep policies small (walk <= SECPOL_MAX_STEPS)
    return prog;
}

inline net::LocalTable locals_of(std::initializer_list<const char*> specs) {
    net::LocalTable t;
    for (const char* s : specs) EXPECT_TRUE(t.add(s)) << s;
    return t;
}

// A policy loaded into the kernel together with its IR, for agreement checks.
struct Harness {
    ir::Policy policy;
    backend::ObjectImage image;
    std::unique_ptr<rt::LoadedPolicy> loaded;
    net::LocalTable locals;

    // Loads policy text; ADD_FAILURE with the reason on any error.
    // link picks the program pair (Ethernet, or the IP-only devices').
    // With `tmpl`, the policy goes through the real compiler (generated
    // walk) and its object is built from that template (Auto: the one
    // `secpol compile` picks), so a test can run the same frames over each
    // template of bpf/secpol.bpf.c; without, the linear node walk above on
    // the called template.
    static std::unique_ptr<Harness> load(const std::string& text, const net::LocalTable& locals = {},
                                         bool trace = true, ref::Link link = ref::Link::Ether,
                                         std::optional<backend::Template> tmpl = std::nullopt) {
        auto h = std::make_unique<Harness>();
        front::Diagnostics diags;
        auto refused = [&](const std::string& why) {
            std::ostringstream os;
            diags.print(os, text);
            ADD_FAILURE() << "policy does not compile:\n" << why << os.str();
            return nullptr;
        };
        Result<backend::ObjectImage> img = Error::msg("no object");
        if (tmpl) {
            auto r = backend::compile_policy_text(text, "test.pol", diags);
            if (!r || !r->has_value()) return refused(r ? "" : r.error().message);
            const backend::Compiled& c = **r;
            h->policy = c.policy;
            img = backend::ObjectImage::build(c.image.meta, c.image.nodes, c.image.code, c.image.code_out,
                                              *tmpl);
        } else {
            auto pol = front::compile_text(text, "test.pol", diags);
            if (!pol) return refused("");
            h->policy = std::move(*pol);
            auto prog = linear_program(h->policy);
            img = backend::ObjectImage::build(backend::make_meta(h->policy, text, prog), prog.nodes);
        }
        if (!img) {
            ADD_FAILURE() << img.error().message;
            return nullptr;
        }
        h->image = std::move(*img);
        h->locals = locals;
        rt::LoadOptions lo;
        lo.trace = trace;
        lo.link = link;
        auto lp = rt::LoadedPolicy::load(h->image, locals, lo);
        if (!lp) {
            ADD_FAILURE() << lp.error().message;
            return nullptr;
        }
        h->loaded = std::move(*lp);
        return h;
    }

    // Runs one frame; fails the test on a kernel error.
    rt::LoadedPolicy::RunResult run(int dir, const pkt::Bytes& b, uint32_t repeat = 1,
                                    bool gso = false) const {
        auto r = loaded->test_run(dir, b.data(), b.size(), repeat, gso);
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
        return r.ok() ? *r : rt::LoadedPolicy::RunResult{};
    }

    ref::Decision reference(int dir, const pkt::Bytes& b, bool gso = false) const {
        return ref::classify(policy, b.data(), b.size(), dir, locals, ref::Frame{loaded->link(), gso});
    }
};

// The counter slot the program increments for the reference's decision (bpf/secpol.bpf.c).
inline size_t expected_slot(const ref::Decision& d, int dir) {
    switch (d.reason) {
        case SECPOL_R_EXEMPTION:
            return rt::special_slot(SECPOL_CNT_EXEMPT + d.exemption, dir);
        case SECPOL_R_FILTER:
        case SECPOL_R_IPSEC:
            return rt::rule_slot(d.rule, dir, d.rule_verdict);
        case SECPOL_R_DEFAULT:
            return rt::special_slot(SECPOL_CNT_DEFAULT, dir);
        case SECPOL_R_FRAGMENT:
            return rt::special_slot(SECPOL_CNT_FRAGMENT, dir);
        case SECPOL_R_NONIP:
            return rt::special_slot(SECPOL_CNT_NONIP, dir);
        default:
            return rt::special_slot(SECPOL_CNT_MALFORMED, dir);
    }
}

inline bool passed(int dir, uint32_t retval) {
    return dir == SECPOL_DIR_IN ? retval == 2 /* XDP_PASS */ : retval == 0;
}

inline std::string describe(uint32_t verdict, uint32_t reason, uint32_t detail) {
    return std::string(ref::verdict_name(verdict)) + "/" + ref::reason_name(reason) + "/" +
           std::to_string(detail);
}

// The kernel's decision for b in direction dir, checked against the
// reference (verdict, reason, exemption or rule, return code, and the key
// for packets the filters saw). Returns the kernel's trace.
// gso (tc only): the frame runs as a GSO skb, the reference is told so.
inline secpol_trace expect_agree(const Harness& h, int dir, const pkt::Bytes& b, const std::string& what = "",
                                 bool gso = false) {
    auto d = h.reference(dir, b, gso);
    if (dir == SECPOL_DIR_OUT && !gso && rt::tc_test_run_refuses(b.data(), b.size())) {
        // The kernel will not run these at tc; the same parser code runs at XDP.
        auto refused = h.loaded->test_run(dir, b.data(), b.size());
        EXPECT_FALSE(refused.ok()) << what << ": expected the kernel to refuse it at tc";
        EXPECT_EQ(d.reason, uint32_t(SECPOL_R_MALFORMED)) << what;
        return expect_agree(h, SECPOL_DIR_IN, b, what + " (tc refused, checked at XDP)");
    }
    auto r = h.run(dir, b, 1, gso);
    uint32_t ref_detail = d.reason == SECPOL_R_EXEMPTION                                ? d.exemption
                          : (d.reason == SECPOL_R_FILTER || d.reason == SECPOL_R_IPSEC) ? d.rule
                                                                                        : 0;
    const char* dn = dir == SECPOL_DIR_IN ? "in" : "out";
    EXPECT_EQ(describe(r.trace.verdict, r.trace.reason, r.trace.detail),
              describe(d.verdict, d.reason, ref_detail))
        << what << " (" << dn << ")";
    EXPECT_EQ(passed(dir, r.retval), r.trace.verdict == SECPOL_V_PERMIT)
        << what << " (" << dn << "): retval " << r.retval;
    if (d.reason != SECPOL_R_MALFORMED && d.reason != SECPOL_R_NONIP) {
        for (int i = 0; i < SECPOL_NF; ++i)
            EXPECT_EQ(r.trace.key.w[i], d.key.w[i]) << what << " (" << dn << "): key word " << i;
    }
    return r.trace;
}

// Both directions.
inline void expect_agree_both(const Harness& h, const pkt::Bytes& b, const std::string& what = "") {
    expect_agree(h, SECPOL_DIR_IN, b, what);
    expect_agree(h, SECPOL_DIR_OUT, b, what);
}

}  // namespace secpol::bpftest
