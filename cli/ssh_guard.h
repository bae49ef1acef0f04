// The SSH session that runs secpol (SSH_CONNECTION: client ip, client port,
// server ip, server port): would the policy cut it off? `check` and `load`
// warn before it happens.
#pragma once

#include <string>
#include <vector>

#include "ir/ir.h"
#include "net/local.h"

namespace secpol::cli {

// One line per direction the policy blocks, empty when the session survives
// or SSH_CONNECTION is absent or unreadable. The server address counts as
// `me` besides locals.
std::vector<std::string> ssh_warnings(const ir::Policy& policy, const net::LocalTable& locals);

}  // namespace secpol::cli
