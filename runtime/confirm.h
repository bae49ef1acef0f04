// `secpol load --confirm SECONDS`: the pending confirmation of an interface,
// as routers' "commit confirmed". Kept beside the state, in <rundir>/IFACE/:
//   confirm.json  this struct (written to .tmp and renamed)
//   confirm.o     the object of the policy to put back (absent when there
//                 was none: the revert then unloads)
// The revert runs in a detached timer process (cli/cmd_confirm.cpp) that
// owns the pending confirmation named by its token; a confirm, an unload, a
// load without --confirm or a later load --confirm removes or replaces the
// file, and the timer, woken by SIGUSR1 or at its deadline, finds it is no
// longer the owner and exits.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "counters.h"
#include "result.h"

namespace secpol::rt {

struct PendingConfirm {
    std::string iface;
    std::string token;                 // names the timer that owns this confirmation
    int64_t started_at = 0;            // unix seconds of the load --confirm (the last one)
    int64_t deadline_ms = 0;           // unix milliseconds: revert then unless confirmed
    uint32_t seconds = 0;              // as given to --confirm
    uint32_t new_ingress_prog_id = 0;  // the unconfirmed policy's XDP program
    std::string new_label;
    int timer_pid = 0;
    uint64_t timer_start = 0;  // /proc/PID/stat start time: a reused pid is never signalled
    // What the revert puts back. has_previous false: the interface had no
    // policy, the revert unloads.
    bool has_previous = false;
    std::string prev_label, prev_policy_file;
    std::vector<std::string> prev_local_spec;  // --local as given to the earlier load
    // Counts of the previous policy's rules that the confirmed swap retired
    // (no rule of the new policy continued them): the revert gives them back.
    // [{"id", "slots": [[packets, bytes] x 6]}], slots by direction then verdict.
    nlohmann::json restore = nlohmann::json::array();

    nlohmann::json to_json() const;
    static Result<PendingConfirm> from_json(const nlohmann::json& j);
};

std::string confirm_path(const std::string& iface);         // <rundir>/IFACE/confirm.json
std::string confirm_object_path(const std::string& iface);  // <rundir>/IFACE/confirm.o

// nullopt when nothing is pending.
Result<std::optional<PendingConfirm>> read_pending(const std::string& iface);
Status write_pending(const PendingConfirm& p);
Status write_confirm_object(const std::string& iface, const std::vector<uint8_t>& elf);
Result<std::vector<uint8_t>> read_confirm_object(const std::string& iface);
// Removes confirm.json and confirm.o and wakes the timer (SIGUSR1), which
// then finds nothing it owns and exits. Missing is fine.
Status cancel_pending(const std::string& iface);
// Wakes the timer of p (if it still runs and is the same process).
void wake_timer(const PendingConfirm& p);
// Whether p's timer process is alive (false for a dead or reused pid).
bool timer_alive(const PendingConfirm& p);
// /proc/PID/stat field 22 (start time in clock ticks); 0 when unreadable.
uint64_t process_start_time(pid_t pid);

// The restore record of a confirmed swap: every old rule that match_rules
// gives no continuation in new_rules, with its totals at the swap.
nlohmann::json restore_entries(const RuleRows& old_rules, const Slots& old_totals, const RuleRows& new_rules);
// Applies a restore record to the offsets of a revert whose new (= the
// previous) policy has prev_rules and whose old (current) policy has
// cur_rules: each recorded rule that the revert's carry-over left without a
// continuation gets its counts back, taken from `retired`. Skipped whole
// when `retired` holds less than the record (a counters --reset since).
// given: what was given back, per direction.
void apply_restore(Offsets& off, const RuleRows& cur_rules, const RuleRows& prev_rules,
                   const nlohmann::json& restore, Count given[2]);

std::string new_token();

// What status, load --json and confirm --json show of p: {"policy",
// "deadline", "deadline_unix", "seconds_left", "revert_to", "timer_pid", "timer_running"}.
nlohmann::json pending_json(const PendingConfirm& p);
int64_t now_ms();

}  // namespace secpol::rt
