// What `secpol load` and the revert of `load --confirm` (cmd_confirm.cpp)
// share: `me` from --local, verifying an object, and the handles install()
// takes. The caller holds the interface lock.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/object_image.h"
#include "net/local.h"
#include "result.h"
#include "runtime/confirm.h"
#include "runtime/program.h"
#include "runtime/swap.h"

namespace secpol::cli {

// --local as given ("auto" or addresses; none = auto).
Result<net::LocalTable> locals_from(const std::vector<std::string>& specs, const std::string& dev);

// SECPOL_FAULT=verifier (load), revert-verifier (the revert of load
// --confirm): corrupts the object so that the kernel's verifier really
// rejects it (tests of the rejection paths).
void inject_verifier_fault(std::vector<uint8_t>& elf);

// Loads img through the kernel's verifier; the error says so in one line (its log after it, for -v).
Result<std::unique_ptr<rt::LoadedPolicy>> verify_image(const std::string& dev,
                                                       const backend::ObjectImage& img,
                                                       const net::LocalTable& locals, ref::Link link);

Result<rt::PolicyHandles> handles_of(const std::string& dev, const rt::LoadedPolicy& lp,
                                     const backend::ObjectImage& img, ref::Link link,
                                     const net::LocalTable& locals,
                                     const std::vector<std::string>& local_spec,
                                     const std::string& policy_file);

// Puts the policy of p back on dev (or unloads, when there was none) and
// removes the pending confirmation; the new policy stays when that fails.
// Returns one line for the log.
Result<std::string> revert_pending(const std::string& dev, const rt::PendingConfirm& p);

// Starts the detached timer of p (own session, SIGHUP ignored, stdio to
// the journal or /dev/null) and records its pid in p.
Status start_confirm_timer(rt::PendingConfirm& p);

}  // namespace secpol::cli
