// The host's addresses as the BPF program's .data table (bpf/include/local_table.h):
// built from the local maps' entries, probed exactly as the program probes it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "local_table.h"
#include "result.h"
#include "secpol_abi.h"

namespace secpol::rt {

struct Addr6Less {
    bool operator()(const secpol_addr6& a, const secpol_addr6& b) const;
};

using Local4 = std::map<uint32_t, uint32_t>;                 // IPv4 address -> SECPOL_LOCAL_*
using Local6 = std::map<secpol_addr6, uint32_t, Addr6Less>;  // IPv6 address -> SECPOL_LOCAL_*

// Places every entry within SECPOL_LOCAL_PROBES slots of its hash; a family
// that does not fit sets `overflow` (the program then uses the hash maps).
std::unique_ptr<secpol_local_tab> build_local_table(const Local4& v4, const Local6& v6);

// Writes the table into the program's .data.locals (two copies) and flips
// .data.localsel: the copy the program is not reading is rewritten (the
// current one keeps its bytes), then the selector word names it (and says
// whether the program probes it or, overflowed, the hash maps:
// secpol_localsel in local_table.h), so a packet sees the old table or the
// new one, never a mix. Whoever changes the
// hash maps secpol_local4/6 of a loaded program calls this after them
// (LoadedPolicy::set_locals; the maps first, for a table that overflows).
Status write_local_table(int table_fd, int sel_fd, const Local4& v4, const Local6& v6);

// An error unless the map behind fd has values of `want` bytes (what: for the message).
Status check_value_size(int fd, uint32_t want, const char* what);
// check_value_size of the table (two copies) and its selector word: what
// write_local_table checks before it writes, for callers that check first.
Status check_local_table_layout(int table_fd, int sel_fd);

// The program's lookup (secpol_local_flags_tab), for tests: flags or 0.
uint32_t local_table_flags(const secpol_local_tab& t, const uint32_t* key_words);

}  // namespace secpol::rt
