// The kernel side of `secpol log`: reading the pinned log ring buffer
// (libbpf ring_buffer), and carrying the per-rule token buckets over a swap
// so a flood that is being limited stays limited when the policy changes.
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "backend/object_meta.h"
#include "log_event.h"
#include "pins.h"
#include "result.h"
#include "rule_row.h"

namespace secpol::rt {

inline const char* kPinLogRing = "map_secpol_log_ring";
inline const char* kPinLogRate = "map_secpol_log_rate";

// A libbpf ring_buffer over one ring map; owns it and a dup of the map fd.
class LogRing {
  public:
    using Handler = std::function<void(const secpol_log_event&)>;
    // fd: a BPF_MAP_TYPE_RINGBUF map (not taken over).
    static Result<std::unique_ptr<LogRing>> open(int fd, Handler h);
    ~LogRing();
    LogRing(const LogRing&) = delete;
    LogRing& operator=(const LogRing&) = delete;

    // Waits up to timeout_ms for events and hands each to the handler.
    // Returns the number handled; EINTR (a signal) is 0, not an error.
    Result<int> poll(int timeout_ms);
    // Hands over what is in the ring now, without waiting.
    Result<int> drain();
    uint32_t map_id() const { return id_; }
    uint32_t size() const { return size_; }

  private:
    LogRing() = default;
    static int on_sample(void* ctx, void* data, size_t len);
    ring_buffer* rb_ = nullptr;
    UniqueFd fd_;
    Handler handler_;
    uint32_t id_ = 0, size_ = 0;
};

// Events the ring had no room for, over every bucket of a rate map
// (secpol_log_bucket.lost); the map's id too, since a swap may replace it.
struct LostEvents {
    uint32_t map_id = 0;
    uint64_t lost = 0;
};
Result<LostEvents> lost_events(int rate_fd);

// The id of the map pinned at path (0 when nothing is pinned there).
uint32_t pinned_map_id(const std::string& path);

// Carries the token buckets of the rules a new policy continues (counters.h
// match_rules: same content, or same label), and the default's, from the
// rate map of the policy being replaced into the new one's (already filled
// by the loader with full buckets and its tag). A continued rule keeps its
// credit (cut to its new burst), so a swap does not open a fresh burst.
Status carry_log_buckets(int old_fd, const RuleRows& old_rules, int new_fd,
                         const backend::ObjectMeta& new_meta);

}  // namespace secpol::rt
