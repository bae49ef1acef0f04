#include "counters.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <unordered_map>

namespace secpol::rt {

// One BPF_MAP_LOOKUP_BATCH per 4096 slots instead of one syscall per slot
// (a 100,000-rule policy has 600,000 slots). A per-CPU array's value is
// ncpu consecutive counters (secpol_counter is a multiple of 8 bytes).
static Status read_batched(int map_fd, unsigned nslots, int ncpu, Slots& out) {
    constexpr uint32_t kChunk = 4096;
    std::vector<uint32_t> keys(kChunk);
    std::vector<secpol_counter> vals(size_t{kChunk} * ncpu);
    uint32_t next = 0;
    bool first = true;
    for (uint32_t done = 0; done < nslots;) {
        uint32_t count = std::min(kChunk, nslots - done);
        LIBBPF_OPTS(bpf_map_batch_opts, opts);
        int err = bpf_map_lookup_batch(map_fd, first ? nullptr : &next, &next, keys.data(), vals.data(),
                                       &count, &opts);
        if (err && errno != ENOENT) return Error::sys(errno, "read counters (batch)");
        for (uint32_t i = 0; i < count; ++i) {
            if (keys[i] >= nslots) continue;
            Count& c = out[keys[i]];
            for (int cpu = 0; cpu < ncpu; ++cpu) {
                c.packets += static_cast<int64_t>(vals[size_t{i} * ncpu + cpu].packets);
                c.bytes += static_cast<int64_t>(vals[size_t{i} * ncpu + cpu].bytes);
            }
        }
        done += count;
        first = false;
        if (err || count == 0) break;  // ENOENT: the end of the map
    }
    return ok();
}

Result<Slots> read_counter_map(int map_fd, unsigned nslots) {
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) return Error::sys(-ncpu, "possible CPUs");
    Slots out(nslots);
    static_assert(sizeof(secpol_counter) % 8 == 0, "per-CPU values are 8-byte aligned");
    if (auto r = read_batched(map_fd, nslots, ncpu, out); r) return out;
    // Kernels without batch ops for this map: one lookup per slot.
    out.assign(nslots, Count{});
    std::vector<secpol_counter> percpu(ncpu);
    for (uint32_t k = 0; k < nslots; ++k) {
        if (bpf_map_lookup_elem(map_fd, &k, percpu.data()) != 0)
            return Error::sys(errno, "read counter " + std::to_string(k));
        for (const auto& c : percpu) {
            out[k].packets += static_cast<int64_t>(c.packets);
            out[k].bytes += static_cast<int64_t>(c.bytes);
        }
    }
    return out;
}

Slots apply_offsets(const Slots& live, const Offsets& off) {
    Slots r(std::max(live.size(), off.slots.size()));
    for (size_t i = 0; i < r.size(); ++i) {
        if (i < live.size()) r[i] += live[i];
        if (i < off.slots.size()) r[i] += off.slots[i];
    }
    return r;
}

Offsets reset_offsets(const Slots& live) {
    Offsets o;
    o.slots.resize(live.size());
    for (size_t i = 0; i < live.size(); ++i) o.slots[i] = Count{-live[i].packets, -live[i].bytes};
    return o;
}

std::string normalise_filter_text(const std::string& text) {
    // Whitespace and letter case carry no meaning in a filter statement.
    std::string out;
    bool space = false;
    for (char c : text) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

std::string filter_content(const std::string& text) {
    // The label is the only string in a filter statement; it names the rule
    // and says nothing about what it matches.
    std::string bare;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string && c == '\\' && i + 1 < text.size()) {
            ++i;
            continue;
        }
        if (c == '"') {
            in_string = !in_string;
            bare += ' ';
            continue;
        }
        if (!in_string) bare += c;
    }
    // Nor does a `log [rate R] [burst B]` clause: adding one to a filter
    // must not cut its counts off.
    std::vector<std::string> words;
    {
        std::string w;
        for (char c : normalise_filter_text(bare) + " ") {
            if (c != ' ') {
                w += c;
            } else if (!w.empty()) {
                words.push_back(std::move(w));
                w.clear();
            }
        }
    }
    std::string out;
    for (size_t i = 0; i < words.size(); ++i) {
        static const char* operand_of[] = {"from", "to", "port", "tunnel", "proto", "type", "code"};
        bool operand = false;
        if (i > 0)
            for (const char* k : operand_of) operand = operand || words[i - 1] == k;
        if (i > 0 && !operand && words[i] == "log") {
            while (i + 2 < words.size() && (words[i + 1] == "rate" || words[i + 1] == "burst")) i += 2;
            continue;
        }
        out += (out.empty() ? "" : " ") + words[i];
    }
    return out;
}

std::vector<int> match_rules(const RuleRows& old_rules, const RuleRows& new_rules) {
    std::vector<int> result(new_rules.size(), -1);
    std::vector<bool> taken(old_rules.size(), false);
    // Each rule's content once: the normalisation, and comparing long keys in
    // an ordered map, were a fifth of a 100,000-rule swap. Per key, the old
    // rules in id order and how many of them are already taken (a rule is
    // taken only through its key of the pass), so each new rule takes the
    // first free one as before.
    auto contents = [](const RuleRows& rows) {
        std::vector<std::string> c;
        c.reserve(rows.size());
        for (const auto& r : rows) c.push_back(filter_content(r.text));
        return c;
    };
    const std::vector<std::string> old_content = contents(old_rules), new_content = contents(new_rules);
    struct Candidates {
        std::vector<size_t> ids;
        size_t next = 0;
    };
    auto pass = [&](auto key_of) {
        std::unordered_map<std::string, Candidates> old_by_key;
        old_by_key.reserve(old_rules.size());
        for (size_t i = 0; i < old_rules.size(); ++i) {
            if (taken[i]) continue;
            std::string k = key_of(old_rules[i], old_content[i]);
            if (!k.empty()) old_by_key[std::move(k)].ids.push_back(i);
        }
        for (size_t j = 0; j < new_rules.size(); ++j) {
            if (result[j] >= 0) continue;
            std::string k = key_of(new_rules[j], new_content[j]);
            if (k.empty()) continue;
            auto it = old_by_key.find(k);
            if (it == old_by_key.end() || it->second.next == it->second.ids.size()) continue;
            const size_t i = it->second.ids[it->second.next++];
            taken[i] = true;
            result[j] = static_cast<int>(i);
        }
    };
    // Counts belong to what a rule matches, so content decides first: a label
    // renamed on an unchanged rule keeps its counts. Among rules of equal
    // content the label picks; a rule whose match changed but kept its label
    // still continues it.
    pass([](const RuleRow& r, const std::string& c) { return c.empty() ? c : c + '\0' + r.label; });
    pass([](const RuleRow&, const std::string& c) { return c; });
    pass([](const RuleRow& r, const std::string&) { return r.label; });
    return result;
}

Offsets carry_over(const RuleRows& old_rules, const Slots& old_totals, const Count old_retired[2],
                   const RuleRows& new_rules) {
    auto at = [&](size_t i) { return i < old_totals.size() ? old_totals[i] : Count{}; };
    Offsets o;
    o.slots.resize(slot_count(new_rules.size()));
    for (size_t i = 0; i < SECPOL_CNT_RULE_BASE; ++i) o.slots[i] = at(i);
    auto match = match_rules(old_rules, new_rules);
    std::vector<bool> carried(old_rules.size(), false);
    for (size_t j = 0; j < match.size(); ++j) {
        if (match[j] < 0) continue;
        carried[match[j]] = true;
        for (unsigned d = 0; d < 2; ++d)
            for (unsigned v = 0; v < SECPOL_RV_COUNT; ++v)
                o.slots[rule_slot(j, d, v)] = at(rule_slot(match[j], d, v));
    }
    for (unsigned d = 0; d < 2; ++d) {
        o.retired[d] = old_retired[d];
        for (size_t i = 0; i < old_rules.size(); ++i)
            if (!carried[i])
                for (unsigned v = 0; v < SECPOL_RV_COUNT; ++v) o.retired[d] += at(rule_slot(i, d, v));
    }
    return o;
}

Count decisions_total(const Slots& totals, unsigned nrules, unsigned dir) {
    Count c;
    auto at = [&](size_t i) { return i < totals.size() ? totals[i] : Count{}; };
    for (unsigned k = 0; k < SECPOL_CNT_SPECIAL; ++k)
        if (k != SECPOL_CNT_IPSEC) c += at(special_slot(k, dir));
    for (unsigned r = 0; r < nrules; ++r)
        for (unsigned v = 0; v < SECPOL_RV_COUNT; ++v) c += at(rule_slot(r, dir, v));
    return c;
}

nlohmann::json offsets_to_json(const Offsets& off) {
    // Sparse: most slots are zero, and a 10,000-rule policy has 60,000 slots.
    nlohmann::json slots = nlohmann::json::array();
    for (size_t i = 0; i < off.slots.size(); ++i)
        if (off.slots[i].packets || off.slots[i].bytes)
            slots.push_back({i, off.slots[i].packets, off.slots[i].bytes});
    return {{"slots", slots},
            {"retired",
             {{"in", {off.retired[0].packets, off.retired[0].bytes}},
              {"out", {off.retired[1].packets, off.retired[1].bytes}}}}};
}

Offsets offsets_from_json(const nlohmann::json& j, unsigned nslots) {
    Offsets o;
    o.slots.resize(nslots);
    if (!j.is_object()) return o;
    for (const auto& s : j.value("slots", nlohmann::json::array())) {
        size_t i = s.at(0).get<size_t>();
        if (i < nslots) o.slots[i] = Count{s.at(1).get<int64_t>(), s.at(2).get<int64_t>()};
    }
    if (auto r = j.find("retired"); r != j.end()) {
        const char* names[2] = {"in", "out"};
        for (int d = 0; d < 2; ++d)
            if (r->contains(names[d]))
                o.retired[d] =
                    Count{(*r)[names[d]].at(0).get<int64_t>(), (*r)[names[d]].at(1).get<int64_t>()};
    }
    return o;
}

}  // namespace secpol::rt
