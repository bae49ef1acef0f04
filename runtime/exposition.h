// The Prometheus exposition of some interfaces being put together
// (metrics.h): metric families in a fixed order, each family's HELP and
// TYPE once and then all its samples, across interfaces, as the format
// wants. The per-rule samples are added by a callback: the product streams
// them from the rule table (blocks written with the rest), the tests' DOM
// reference (tests/support/render) adds them from a counters document.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "counters.h"
#include "rule_table.h"
#include "state.h"
#include "text_out.h"

namespace secpol::rt {

using Labels = std::vector<std::pair<std::string, std::string>>;

// The per-rule samples of one interface (packets or bytes), written when
// the exposition is: 1.2 million lines at 100,000 rules.
struct RuleBlock {
    const IfaceState* st;
    const RuleTable* table;
    const Slots* totals;
    bool bytes;
};

class Exposition {
  public:
    // Families in a fixed order, even when no interface has a sample of one.
    Exposition();
    void sample(const std::string& name, const char* type, const char* help, const Labels& labels, double v);
    void block(const std::string& name, const char* type, const char* help, const RuleBlock& b);
    void write(TextOut& o) const;

  private:
    struct Family {
        std::string name, type, help;
        std::vector<std::string> samples;
        std::vector<std::pair<size_t, RuleBlock>> blocks;  // each before samples[first]
    };
    Family& family(const std::string& name, const char* type, const char* help);
    std::vector<Family> families_;
    std::map<std::string, size_t> index_;
};

// packets and bytes of one {"packets","bytes"} object as two counters,
// BASE_packets_total and BASE_bytes_total ("Packets WHAT", "Bytes WHAT").
void add_packets_bytes(Exposition& e, const std::string& base, const char* what, const Labels& l,
                       const nlohmann::json& c);

// "ingress" for "in", "egress" otherwise.
const char* direction_name(const std::string& d);

// The samples of one interface from its counters document `doc` (a
// counters_head() in the product); `rules` adds the per-rule samples where
// they go, after the policy's gauges and before the exemptions.
void add_interface(Exposition& e, const IfaceState& st, const nlohmann::json& doc,
                   const std::function<void(Exposition&)>& rules);

}  // namespace secpol::rt
