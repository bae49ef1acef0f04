// The local-address maps of a policy ("me" and the directed broadcasts):
// secpol_local4, secpol_local6 and the directed-broadcast Bloom filter in
// .data.bloom. Written at load time (LoadedPolicy::set_locals) and, while
// `secpol daemon` runs, again whenever the host's addresses change
// (rtnetlink events), on the pinned maps of the loaded policy.
#pragma once

#include <string>

#include "net/local.h"
#include "result.h"

namespace secpol::rt {

struct LocalMapFds {
    int local4 = -1;
    int local6 = -1;
    int bloom = -1;  // the .data.bloom array (one value of SECPOL_BLOOM_WORDS words)
    // The program's table (bpf/include/local_table.h): .data.locals and
    // .data.localsel; -1 for an object compiled before the table existed.
    int table = -1;
    int table_sel = -1;
};

// Makes the maps hold exactly `locals`, in an order that keeps every address
// either in its old or its new state for a packet classified meanwhile:
// new and changed entries first, then the program's table (a flip to a
// complete new copy, runtime/local_image.h), then the Bloom filter (a broadcast becomes
// visible once both are in), then stale entries are deleted (the Bloom
// filter already lost their bits, so they stop counting as broadcasts
// first). Returns whether anything changed.
Result<bool> write_local_maps(const LocalMapFds& fds, const net::LocalTable& locals);

// What the maps hold now.
Result<net::LocalTable> read_local_maps(const LocalMapFds& fds);

// The same on the pinned maps of the policy loaded on IFACE (pins.h).
Result<bool> write_pinned_locals(const std::string& iface, const net::LocalTable& locals);
Result<net::LocalTable> read_pinned_locals(const std::string& iface);

}  // namespace secpol::rt
