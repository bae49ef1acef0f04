#include "log_ring.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "counters.h"
#include "rule_table.h"

namespace secpol::rt {

Result<std::unique_ptr<LogRing>> LogRing::open(int fd, Handler h) {
    std::unique_ptr<LogRing> r(new LogRing());
    bpf_map_info info{};
    uint32_t n = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &n) != 0) return Error::sys(errno, "log ring: map info");
    if (info.type != BPF_MAP_TYPE_RINGBUF) return Error::msg("log ring: not a ring buffer map", EINVAL);
    r->id_ = info.id;
    r->size_ = info.max_entries;
    r->fd_ = UniqueFd(dup(fd));
    if (!r->fd_) return Error::sys(errno, "log ring: dup");
    r->handler_ = std::move(h);
    r->rb_ = ring_buffer__new(r->fd_.get(), &LogRing::on_sample, r.get(), nullptr);
    if (!r->rb_) return Error::sys(errno, "log ring: ring_buffer__new");
    return r;
}

LogRing::~LogRing() {
    if (rb_) ring_buffer__free(rb_);
}

int LogRing::on_sample(void* ctx, void* data, size_t len) {
    auto* self = static_cast<LogRing*>(ctx);
    // A record of another size is not ours to read (a future layout).
    if (len < sizeof(secpol_log_event)) return 0;
    secpol_log_event e;
    std::memcpy(&e, data, sizeof e);
    self->handler_(e);
    return 0;
}

Result<int> LogRing::poll(int timeout_ms) {
    int n = ring_buffer__poll(rb_, timeout_ms);
    if (n == -EINTR) return 0;
    if (n < 0) return Error::sys(-n, "log ring: poll");
    return n;
}

Result<int> LogRing::drain() {
    int n = ring_buffer__consume(rb_);
    if (n < 0) return Error::sys(-n, "log ring: consume");
    return n;
}

uint32_t pinned_map_id(const std::string& path) {
    auto fd = open_pin(path);
    if (!fd || !*fd) return 0;
    bpf_map_info info{};
    uint32_t n = sizeof info;
    if (bpf_obj_get_info_by_fd(fd->get(), &info, &n) != 0) return 0;
    return info.id;
}

namespace {

Result<std::vector<secpol_log_bucket>> read_buckets(int fd, uint32_t n) {
    std::vector<secpol_log_bucket> out(n);
    for (uint32_t k = 0; k < n; ++k)
        if (bpf_map_lookup_elem(fd, &k, &out[k]) != 0)
            return Error::sys(errno, "read log bucket " + std::to_string(k));
    return out;
}

void carry(const secpol_log_bucket& old, secpol_log_bucket& now) {
    if (!old.interval_ns || !now.interval_ns) return;
    now.tokens_ns = std::min(old.tokens_ns, now.burst_ns);
    now.last_ns = old.last_ns;
    now.suppressed = old.suppressed;
}

}  // namespace

Status carry_log_buckets(int old_fd, const RuleRows& old_rules, int new_fd,
                         const backend::ObjectMeta& new_meta) {
    if (old_fd < 0 || new_fd < 0) return ok();
    bpf_map_info info{};
    uint32_t n = sizeof info;
    if (bpf_obj_get_info_by_fd(old_fd, &info, &n) != 0) return Error::sys(errno, "log rate map info");
    const uint32_t old_n = static_cast<uint32_t>(old_rules.size()) + 1;
    if (info.max_entries < old_n) return ok();  // not the map of that rule table
    const uint32_t new_n = new_meta.config.nrules + 1;
    auto old_b = read_buckets(old_fd, old_n);
    if (!old_b) return old_b.error();
    auto new_b = read_buckets(new_fd, new_n);
    if (!new_b) return new_b.error();
    const auto match = match_rules(old_rules, rule_rows(new_meta));
    for (uint32_t j = 0; j + 1 < new_n && j < match.size(); ++j)
        if (match[j] >= 0) carry((*old_b)[match[j]], (*new_b)[j]);
    carry((*old_b)[old_n - 1], (*new_b)[new_n - 1]);
    for (uint32_t k = 0; k < new_n; ++k)
        if (bpf_map_update_elem(new_fd, &k, &(*new_b)[k], BPF_ANY) != 0)
            return Error::sys(errno, "write log bucket " + std::to_string(k));
    return ok();
}

Result<LostEvents> lost_events(int rate_fd) {
    bpf_map_info info{};
    uint32_t n = sizeof info;
    if (bpf_obj_get_info_by_fd(rate_fd, &info, &n) != 0) return Error::sys(errno, "log rate map info");
    if (info.value_size != sizeof(secpol_log_bucket))
        return Error::msg("log rate map: value size " + std::to_string(info.value_size) + ", expected " +
                              std::to_string(sizeof(secpol_log_bucket)),
                          EINVAL);
    auto b = read_buckets(rate_fd, info.max_entries);
    if (!b) return b.error();
    LostEvents l{info.id, 0};
    for (const auto& x : *b) l.lost += x.lost;
    return l;
}

}  // namespace secpol::rt
