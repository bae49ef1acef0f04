// --dump=bpf: the generated decision program as an instruction listing, and
// the sizes of the fixed XDP/tc programs it runs in.
#pragma once

#include <string>

#include "backend/compile.h"

namespace secpol::backend {

std::string dump_bpf(const Compiled& c);

}  // namespace secpol::backend
