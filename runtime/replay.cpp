#include "replay.h"

#include <algorithm>
#include <map>
#include <memory>
#include <sstream>

namespace secpol::rt {

bool PacketOutcome::agree() const {
    if (!ran) return true;
    if (verdict != ref.verdict || reason != ref.reason) return false;
    if (reason == SECPOL_R_EXEMPTION) return detail == ref.exemption;
    if (reason == SECPOL_R_FILTER || reason == SECPOL_R_IPSEC) return detail == ref.rule;
    return true;
}

Result<ReplayReport> replay(const backend::Compiled& compiled, const LoadedPolicy& loaded,
                            const std::vector<Packet>& pkts, const ReplayOptions& opts) {
    ReplayReport rep;
    rep.packets.reserve(pkts.size());
    rep.timed_production = opts.timed && opts.timed != &loaded;
    for (size_t i = 0; i < pkts.size(); ++i) {
        const auto& p = pkts[i];
        PacketOutcome o;
        o.index = i;
        o.len = p.size();
        o.ref = ref::classify(compiled.policy, p.data(), p.size(), opts.dir, opts.locals);
        if (p.size() >= 14) {
            const bool separate_timing = opts.timed && opts.timed != &loaded;
            auto r = loaded.test_run(opts.dir, p.data(), p.size(),
                                     separate_timing ? 1 : std::max<uint32_t>(1, opts.repeat));
            // The kernel builds an skb for a tc test run and refuses frames whose IP header is cut
            // short; such frames never reach tc egress from the stack, so they cannot be compared.
            if (!r && r.error().err == EINVAL && opts.dir == SECPOL_DIR_OUT && p.size() < 14 + 40) {
                ++rep.not_run;
                rep.packets.push_back(std::move(o));
                continue;
            }
            if (!r) return Error{r.error().err, "packet " + std::to_string(i) + ": " + r.error().message};
            o.ran = true;
            o.verdict = r->trace.verdict;
            o.reason = r->trace.reason;
            o.detail = r->trace.detail;
            o.ns = r->duration_ns;
            // The return code is what the kernel acts on; the trace says why.
            auto passed = [&](uint32_t retval) {
                return opts.dir == SECPOL_DIR_IN ? retval == 2 /* XDP_PASS */ : retval == 0;
            };
            if (passed(r->retval) != (o.verdict == SECPOL_V_PERMIT)) o.verdict = 0xffffffffu;
            if (separate_timing) {
                // What a deployed program costs, and it must act alike.
                auto t =
                    opts.timed->test_run(opts.dir, p.data(), p.size(), std::max<uint32_t>(1, opts.repeat));
                if (!t)
                    return Error{t.error().err, "packet " + std::to_string(i) +
                                                    " (production program): " + t.error().message};
                o.ns = t->duration_ns;
                if (passed(t->retval) != (o.verdict == SECPOL_V_PERMIT)) o.verdict = 0xffffffffu;
            }
        } else {
            ++rep.not_run;
        }
        if (!o.agree()) ++rep.disagreements;
        rep.packets.push_back(std::move(o));
    }
    return rep;
}

namespace {

const ir::Rule* rule_of(const ir::Policy& pol, uint32_t id) {
    return id < pol.rules.size() ? &pol.rules[id] : nullptr;
}

nlohmann::json decision_fields(const ir::Policy& pol, uint32_t verdict, uint32_t reason, uint32_t detail) {
    nlohmann::json j;
    j["verdict"] = verdict == 0xffffffffu ? "inconsistent" : ref::verdict_name(verdict);
    j["reason"] = ref::reason_name(reason);
    if (reason == SECPOL_R_EXEMPTION) j["exemption"] = ir::exemption_name(detail);
    if (reason == SECPOL_R_FILTER || reason == SECPOL_R_IPSEC) {
        if (const auto* r = rule_of(pol, detail))
            j["filter"] = {{"id", r->id}, {"label", r->label}, {"line", r->loc.line}};
    }
    return j;
}

std::string decision_text(const ir::Policy& pol, uint32_t verdict, uint32_t reason, uint32_t detail) {
    std::ostringstream os;
    os << (verdict == 0xffffffffu ? "inconsistent" : ref::verdict_name(verdict)) << " "
       << ref::reason_name(reason);
    if (reason == SECPOL_R_EXEMPTION) os << " " << ir::exemption_name(detail);
    if (reason == SECPOL_R_FILTER || reason == SECPOL_R_IPSEC) {
        if (const auto* r = rule_of(pol, detail))
            os << " " << r->id << " \"" << r->label << "\" (line " << r->loc.line << ")";
    }
    return os.str();
}

// A stable name for what decided a packet, for the per-rule summary.
std::string bucket(const ir::Policy& pol, uint32_t reason, uint32_t detail) {
    if (reason == SECPOL_R_EXEMPTION) return std::string("exemption ") + ir::exemption_name(detail);
    if (reason == SECPOL_R_FILTER || reason == SECPOL_R_IPSEC) {
        const auto* r = rule_of(pol, detail);
        return "rule " + std::to_string(detail) + (r ? " \"" + r->label + "\"" : "");
    }
    return ref::reason_name(reason);
}

}  // namespace

nlohmann::json outcome_json(const ir::Policy& policy, const PacketOutcome& o, bool with_ns) {
    nlohmann::json j =
        o.ran ? decision_fields(policy, o.verdict, o.reason, o.detail) : nlohmann::json::object();
    j["index"] = o.index;
    j["length"] = o.len;
    if (!o.ran) {
        j["verdict"] = nullptr;
        j["reason"] = nullptr;
        j["note"] =
            "the kernel refuses to run programs on this frame (shorter than an Ethernet header, or, for tc, "
            "a cut-short IP header)";
    }
    j["reference_verdict"] = ref::verdict_name(o.ref.verdict);
    j["reference"] = ref::decision_json(policy, o.ref);
    j["agree"] = o.agree();
    if (with_ns) j["ns"] = o.ns;
    return j;
}

static std::pair<double, double> mean_median(std::vector<uint32_t> v) {
    if (v.empty()) return {0, 0};
    double sum = 0;
    for (auto x : v) sum += x;
    std::sort(v.begin(), v.end());
    double med = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2.0;
    return {sum / v.size(), med};
}

nlohmann::json summary_json(const ir::Policy& policy, const ReplayReport& rep, bool with_ns) {
    std::map<std::string, std::pair<size_t, size_t>> by;  // bucket -> permit, block
    std::vector<uint32_t> ns;
    for (const auto& o : rep.packets) {
        if (!o.ran) continue;
        auto& b = by[bucket(policy, o.reason, o.detail)];
        (o.verdict == SECPOL_V_PERMIT ? b.first : b.second)++;
        ns.push_back(o.ns);
    }
    nlohmann::json decided = nlohmann::json::object();
    for (const auto& [k, v] : by) decided[k] = {{"permit", v.first}, {"block", v.second}};
    nlohmann::json j = {{"packets", rep.packets.size()},
                        {"run", rep.packets.size() - rep.not_run},
                        {"not_run", rep.not_run},
                        {"disagreements", rep.disagreements},
                        {"by_decision", decided}};
    if (with_ns) {
        auto [mean, med] = mean_median(ns);
        j["ns_mean"] = mean;
        j["ns_median"] = med;
        j["ns_program"] = rep.timed_production ? "production" : "trace";
    }
    return j;
}

std::string outcome_text(const ir::Policy& policy, const PacketOutcome& o, bool with_ns) {
    std::ostringstream os;
    os << "#" << o.index << " len " << o.len << ": ";
    if (!o.ran) {
        os << "not run (the kernel refuses this frame for a test run); reference: "
           << decision_text(policy, o.ref.verdict, o.ref.reason,
                            o.ref.reason == SECPOL_R_EXEMPTION ? o.ref.exemption : o.ref.rule);
        return os.str();
    }
    os << decision_text(policy, o.verdict, o.reason, o.detail);
    if (with_ns) os << "  " << o.ns << " ns";
    if (!o.agree())
        os << "  DISAGREES with reference: "
           << decision_text(policy, o.ref.verdict, o.ref.reason,
                            o.ref.reason == SECPOL_R_EXEMPTION ? o.ref.exemption : o.ref.rule);
    return os.str();
}

std::string summary_text(const ir::Policy& policy, const ReplayReport& rep, bool with_ns) {
    auto j = summary_json(policy, rep, with_ns);
    std::ostringstream os;
    os << "summary: " << rep.packets.size() << " packets, " << rep.packets.size() - rep.not_run
       << " run in the kernel, " << rep.disagreements << " disagreements with the reference\n";
    for (const auto& [k, v] : j["by_decision"].items())
        os << "  " << k << ": " << v["permit"].get<size_t>() << " permitted, " << v["block"].get<size_t>()
           << " blocked\n";
    if (with_ns)
        os << "  kernel ns/packet ("
           << (rep.timed_production ? "production program, trace off" : "trace program") << "): mean "
           << j["ns_mean"].get<double>() << ", median " << j["ns_median"].get<double>() << "\n";
    return os.str();
}

}  // namespace secpol::rt
