// LoadedPolicy: opens a compiled object with libbpf, sizes and configures its
// maps, loads it through the verifier and fills the policy data.
#include "program.h"

#include <bpf/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>

#include "bloom.h"
#include "codegen_load.h"
#include "local_table.h"
#include "locals.h"
#include "log.h"
#include "log_event.h"

namespace secpol::rt {

namespace {

constexpr const char* kCfgSection = ".rodata.cfg";
constexpr const char* kBloomSection = ".data.bloom";
constexpr const char* kLocalsSection = ".data.locals";
constexpr const char* kLocalsSelSection = ".data.localsel";
constexpr uint32_t kMinLocalEntries = 1024;
constexpr size_t kLogSize = 4u << 20;  // the verifier's log on failure; the tail is what matters
constexpr size_t kLogTailLines = 25;

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Internal maps (.rodata.cfg, .data.bloom) by section name; libbpf versions
// differ in whether the object name is prefixed.
bpf_map* find_map(bpf_object* obj, const char* name) {
    if (bpf_map* m = bpf_object__find_map_by_name(obj, name)) return m;
    bpf_map* m = nullptr;
    bpf_object__for_each_map(m, obj) {
        if (ends_with(bpf_map__name(m), name)) return m;
    }
    return nullptr;
}

std::string last_lines(const char* log, size_t n) {
    std::string s(log);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
    size_t pos = s.size();
    for (size_t i = 0; i < n && pos != std::string::npos && pos > 0; ++i) pos = s.rfind('\n', pos - 1);
    return pos == std::string::npos ? s : s.substr(pos + 1);
}

// The kernel limit a failed load ran into, named for the user, or null.
const char* verifier_limit(const char* log) {
    const std::string s(log);
    if (s.find("BPF program is too large") != std::string::npos) return "1,000,000 processed instructions";
    if (s.find("jumps is too complex") != std::string::npos) return "8,192 pending branch states";
    if (s.find("too many subprograms") != std::string::npos) return "256 subprograms";
    if (s.find("jump out of range") != std::string::npos)
        return "jumps that stay inside their function (16-bit offsets, gotol)";
    return nullptr;
}

bool is_v4_mapped(const net::Addr& a) {
    return a[0] == 0 && a[1] == 0 && a[2] == 0xffff;
}

// Writes n fixed-size values at keys 0..n-1: one batch syscall where the
// kernel supports it, else one per element.
Status fill_array(int fd, const void* values, size_t value_size, uint32_t n, const char* what) {
    if (n == 0) return ok();
    std::vector<uint32_t> keys(n);
    for (uint32_t i = 0; i < n; ++i) keys[i] = i;
    uint32_t count = n;
    LIBBPF_OPTS(bpf_map_batch_opts, bo, .elem_flags = 0, .flags = 0);
    if (bpf_map_update_batch(fd, keys.data(), values, &count, &bo) == 0 && count == n) return ok();
    auto* p = static_cast<const uint8_t*>(values);
    for (uint32_t i = 0; i < n; ++i)
        if (bpf_map_update_elem(fd, &keys[i], p + i * value_size, BPF_ANY) != 0)
            return Error::sys(errno, std::string("fill ") + what + " map at " + std::to_string(i));
    return ok();
}

// The node array goes in by one memcpy into the map's memory (the map is
// created mmapable): at 100,000 filters, 2.1M nodes took 0.37 s through
// BPF_MAP_UPDATE_BATCH. Falls back to the batch update if the mapping fails.
Status fill_nodes(int fd, const std::vector<secpol_node>& nodes) {
    if (nodes.empty()) return ok();
    const size_t len = nodes.size() * sizeof(secpol_node);
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return fill_array(fd, nodes.data(), sizeof(secpol_node), static_cast<uint32_t>(nodes.size()), "node");
    std::memcpy(p, nodes.data(), len);
    munmap(p, len);
    return ok();
}

// The log maps (log_event.h), only in the objects of policies with `log`:
// the ring (or the pinned ring being replaced, reused when it is large
// enough), one token bucket per rule and the default's.
Status size_log_maps(bpf_object* obj, const backend::ObjectMeta& meta, int reuse_ring) {
    bpf_map* ring = find_map(obj, SECPOL_MAP_LOG_RING);
    bpf_map* rate = find_map(obj, SECPOL_MAP_LOG_RATE);
    if (!ring || !rate) {
        if (meta.has_log()) return Error::msg("the policy has `log` but the BPF object has no log maps");
        return ok();
    }
    if (int e = bpf_map__set_max_entries(rate, meta.config.nrules + 1))
        return Error::sys(e, "size the log rate map");
    const uint32_t want = SECPOL_LOG_RING_BYTES;
    if (reuse_ring >= 0) {
        bpf_map_info info{};
        uint32_t n = sizeof info;
        if (bpf_obj_get_info_by_fd(reuse_ring, &info, &n) == 0 && info.type == BPF_MAP_TYPE_RINGBUF &&
            info.max_entries >= want) {
            if (int e = bpf_map__reuse_fd(ring, reuse_ring))
                return Error::sys(e, "reuse the pinned log ring");
            return ok();
        }
    }
    if (int e = bpf_map__set_max_entries(ring, want)) return Error::sys(e, "size the log ring");
    return ok();
}

}  // namespace

const char* ingress_prog_name(ref::Link link) {
    return link == ref::Link::L3 ? "secpol_l3_in" : "secpol_ingress";
}
const char* egress_prog_name(ref::Link link) {
    return link == ref::Link::L3 ? "secpol_l3_out" : "secpol_egress";
}

// The kernel's skb test run (6.x) rejects, with EINVAL, a frame whose outer
// EtherType is IPv4 or IPv6 but which is shorter than that base header. By
// docs/semantics.md such a frame is always malformed.
bool tc_test_run_refuses(const uint8_t* pkt, size_t len) {
    if (len < 14) return true;
    const unsigned type = unsigned(pkt[12]) << 8 | pkt[13];
    return (type == 0x0800 && len < 14 + 20) || (type == 0x86dd && len < 14 + 40);
}

Result<std::unique_ptr<LoadedPolicy>> LoadedPolicy::load(const ObjectImage& img,
                                                         const net::LocalTable& locals,
                                                         const LoadOptions& opts) {
    log::install_libbpf_printer();
    if (img.meta.format != backend::kObjectFormat)
        return Error::msg("object format version " + std::to_string(img.meta.format) +
                          ", but this secpol loads version " + std::to_string(backend::kObjectFormat));
    if (img.meta.rules.size() != img.config().nrules)
        return Error::msg("object: config says " + std::to_string(img.config().nrules) +
                          " rules, table has " + std::to_string(img.meta.rules.size()));

    const bool generated = !img.code.empty();
    if (auto s = install_walk_swap_handlers(); !s) return s.error();
    std::unique_ptr<LoadedPolicy> lp(new LoadedPolicy());
    LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "secpol");
    lp->obj_ = bpf_object__open_mem(img.elf.data(), img.elf.size(), &oo);
    if (!lp->obj_) return Error::sys(errno, "open BPF object");
    bpf_object* obj = lp->obj_;

    auto need_map = [&](const char* name) -> Result<bpf_map*> {
        bpf_map* m = find_map(obj, name);
        if (!m) return Error::msg(std::string("BPF object has no map ") + name);
        return m;
    };
    auto resize = [&](const char* name, uint32_t n) -> Status {
        auto m = need_map(name);
        if (!m) return m.error();
        if (int e = bpf_map__set_max_entries(*m, std::max<uint32_t>(1, n)))
            return Error::sys(e, std::string("size map ") + name);
        return ok();
    };
    const uint32_t nlocal4 = static_cast<uint32_t>(
        std::count_if(locals.addrs.begin(), locals.addrs.end(), is_v4_mapped) +
        std::count_if(locals.broadcasts.begin(), locals.broadcasts.end(), is_v4_mapped));
    const uint32_t nlocal6 = static_cast<uint32_t>(locals.addrs.size() + locals.broadcasts.size()) - nlocal4;
    if (auto s = size_log_maps(obj, img.meta, opts.reuse_log_ring); !s) return s.error();
    for (auto [name, n] :
         {std::pair<const char*, uint32_t>{SECPOL_MAP_NODES, generated ? 1 : img.nodes.size()},
          {SECPOL_MAP_RULES, img.config().nrules},
          {SECPOL_MAP_COUNTERS, SECPOL_CNT_SLOTS(img.config().nrules)},
          {SECPOL_MAP_LOCAL4, std::max(kMinLocalEntries, 2 * nlocal4)},
          {SECPOL_MAP_LOCAL6, std::max(kMinLocalEntries, 2 * nlocal6)}}) {
        if (auto s = resize(name, n); !s) return s.error();
    }
    if (!generated) {
        auto m = need_map(SECPOL_MAP_NODES);
        if (!m) return m.error();
        if (int e = bpf_map__set_map_flags(*m, bpf_map__map_flags(*m) | BPF_F_MMAPABLE))
            return Error::sys(e, "make the node map mmapable");
    }

    // The config goes into the frozen .rodata.cfg before load, so the
    // verifier sees constants and drops the code of what is off.
    lp->cfg_ = img.config();
    lp->cfg_.flags = (lp->cfg_.flags & ~SECPOL_CFG_TRACE) | (opts.trace ? SECPOL_CFG_TRACE : 0);
    lp->trace_ = opts.trace;
    lp->link_ = opts.link;
    auto cfg_map = need_map(kCfgSection);
    if (!cfg_map) return cfg_map.error();
    if (int e = bpf_map__set_initial_value(*cfg_map, &lp->cfg_, sizeof(lp->cfg_)))
        return Error::sys(e, "set config (" + std::string(kCfgSection) + " is " +
                                 std::to_string(bpf_map__value_size(*cfg_map)) + " bytes)");

    // Per-program log buffers: libbpf asks for the verifier's log only when
    // a load fails, then we report its last lines.
    std::map<std::string, std::vector<char>> logs;
    bpf_program* prog = nullptr;
    bpf_object__for_each_program(prog, obj) {
        const std::string name = bpf_program__name(prog);
        if (name != ingress_prog_name(opts.link) && name != egress_prog_name(opts.link)) {
            bpf_program__set_autoload(prog, false);
            continue;
        }
        auto& buf = logs[name];
        buf.assign(kLogSize, '\0');
        bpf_program__set_log_buf(prog, buf.data(), buf.size());
    }
    // The generated decision replaces secpol_walk's body during the load,
    // and the XDP program is verified in a thread while libbpf loads tc.
    // Every program, the node-array walker's too, then has the frozen
    // config folded in (cfg_fold.h).
    std::optional<WalkSwap> swap;
    // With tunnel filters the pre-walk's call is live: a body beyond
    // kSpliceMaxInsns spliced at the main walk only would be verified twice
    // (there and as the called subprogram), so it stays called everywhere.
    const size_t splice_max = lp->cfg_.flags & SECPOL_CFG_HAS_TUNNEL
                                  ? std::min(opts.splice_max, backend::kSpliceMaxInsns)
                                  : opts.splice_max;
    swap.emplace(obj, img.code, img.code_out,
                 generated ? bpf_object__find_program_by_name(obj, ingress_prog_name(opts.link)) : nullptr,
                 splice_max, opts.fold_config ? *cfg_map : nullptr);
    int load_err = bpf_object__load(obj);
    if (generated && !load_err) {
        auto fd = swap->finish();
        if (fd) {
            lp->ingress_.reset(*fd);
        } else {
            load_err = -fd.error().err;
            logs[ingress_prog_name(opts.link)] = swap->detached_log();
        }
    }
    if (int e = load_err) {
        std::string msg = "load BPF object (verifier)";
        if (swap && !swap->error().empty()) return Error::sys(e, "load BPF object: " + swap->error());
        for (auto& [name, buf] : logs) {
            if (buf.empty()) continue;
            if (buf[0] == '\0') continue;
            if (const char* limit = verifier_limit(buf.data()))
                msg += "\n" + name + ": the verifier's limit of " + limit + " was hit" +
                       (generated
                            ? " by the generated decision code (" +
                                  std::to_string(name == ingress_prog_name(opts.link) || img.code_out.empty()
                                                     ? img.code.size()
                                                     : img.code_out.size()) +
                                  " instructions); docs/design.md, \"Generated code\""
                            : std::string());
            msg += "\n--- " + name + ": last lines of the verifier log ---\n" +
                   last_lines(buf.data(), kLogTailLines);
        }
        Error err = Error::sys(e, msg);
        return err;
    }
    bpf_object__for_each_program(prog, obj) {
        if (bpf_program__autoload(prog)) bpf_program__set_log_buf(prog, nullptr, 0);
    }
    if (generated && swap->swapped() == 0)
        return Error::msg("load BPF object: the generated decision code was not used");
    if (opts.fold_config) {
        lp->config_folded_ = swap->folded();
        log::write(log::Info, "load: config folded: %s\n", lp->config_folded_.c_str());
    }
    if (generated) {
        lp->spliced_ = swap->spliced();
        lp->splice_kept_why_ = swap->kept_why();
        lp->entry_spliced_ = swap->entry_spliced();
        // Which form was loaded, as --dump=bpf's header says it (docs/design.md "The fixed path").
        log::write(log::Info, "load: generated walk spliced at %zu call sites%s%s%s\n", lp->spliced_,
                   lp->entry_spliced_ ? ", the filters inline in the entry programs (no call on a filter hit)"
                                      : ", the filters in secpol_decide_in/_out",
                   lp->splice_kept_why_.empty() ? "" : "; a call stays: ", lp->splice_kept_why_.c_str());
    }
    swap.reset();

    if (!generated)
        if (auto s = fill_nodes(lp->map_fd(SECPOL_MAP_NODES), img.nodes); !s) return s.error();
    const auto rules = img.meta.abi_rules();
    if (auto s = fill_array(lp->map_fd(SECPOL_MAP_RULES), rules.data(), sizeof(secpol_rule),
                            static_cast<uint32_t>(rules.size()), "rule");
        !s)
        return s.error();
    if (int fd = lp->map_fd(SECPOL_MAP_LOG_RATE); fd >= 0) {
        auto buckets = img.meta.log_buckets();
        // The events' tag: the XDP program's id, unique while it is loaded.
        bpf_prog_info info{};
        uint32_t n = sizeof info;
        if (bpf_obj_get_info_by_fd(lp->ingress_fd(), &info, &n) != 0)
            return Error::sys(errno, "program info");
        for (auto& b : buckets) b.tag = info.id;
        if (auto s = fill_array(fd, buckets.data(), sizeof(secpol_log_bucket),
                                static_cast<uint32_t>(buckets.size()), "log rate");
            !s)
            return s.error();
    }
    if (auto s = lp->set_locals(locals); !s) return s.error();
    return lp;
}

LoadedPolicy::~LoadedPolicy() {
    if (obj_) bpf_object__close(obj_);
}

int LoadedPolicy::ingress_fd() const {
    if (ingress_) return ingress_.get();  // loaded apart from libbpf (codegen_load.h, WalkSwap)
    bpf_program* p = bpf_object__find_program_by_name(obj_, ingress_prog_name(link_));
    return p ? bpf_program__fd(p) : -1;
}

int LoadedPolicy::egress_fd() const {
    bpf_program* p = bpf_object__find_program_by_name(obj_, egress_prog_name(link_));
    return p ? bpf_program__fd(p) : -1;
}

int LoadedPolicy::map_fd(const char* name) const {
    bpf_map* m = find_map(obj_, name);
    return m ? bpf_map__fd(m) : -1;
}

// The order of the writes (locals.h) keeps a live program from seeing a
// local address missing while the table changes.
Status LoadedPolicy::set_locals(const net::LocalTable& locals) {
    bpf_map* bm = find_map(obj_, kBloomSection);
    if (!bm || bpf_map__value_size(bm) != SECPOL_BLOOM_WORDS * sizeof(uint64_t))
        return Error::msg("directed broadcast filter map missing");
    // The program's table (local_table.h). An object compiled before the
    // table existed has neither section and looks addresses up in the maps.
    bpf_map* tm = find_map(obj_, kLocalsSection);
    bpf_map* sm = find_map(obj_, kLocalsSelSection);
    if ((tm || sm) && (!tm || !sm || bpf_map__value_size(tm) != 2 * sizeof(secpol_local_tab) ||
                       bpf_map__value_size(sm) != sizeof(uint32_t)))
        return Error::msg("local address table: unexpected " + std::string(kLocalsSection) + " or " +
                          kLocalsSelSection + " section");
    LocalMapFds fds{map_fd(SECPOL_MAP_LOCAL4), map_fd(SECPOL_MAP_LOCAL6), bpf_map__fd(bm)};
    if (tm) fds.table = bpf_map__fd(tm), fds.table_sel = bpf_map__fd(sm);
    auto r = write_local_maps(fds, locals);
    if (!r) return r.error();
    return ok();
}

Result<std::vector<secpol_counter>> LoadedPolicy::read_counters() const {
    const int fd = map_fd(SECPOL_MAP_COUNTERS);
    if (fd < 0) return Error::msg("counter map missing");
    const int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) return Error::sys(ncpu, "count possible CPUs");
    const uint32_t nslots = SECPOL_CNT_SLOTS(cfg_.nrules);
    std::vector<secpol_counter> out(nslots);
    std::vector<secpol_counter> percpu(static_cast<size_t>(ncpu));
    for (uint32_t k = 0; k < nslots; ++k) {
        if (bpf_map_lookup_elem(fd, &k, percpu.data()) != 0)
            return Error::sys(errno, "read counter " + std::to_string(k));
        for (const auto& c : percpu) {
            out[k].packets += c.packets;
            out[k].bytes += c.bytes;
        }
    }
    return out;
}

Result<LoadedPolicy::RunResult> LoadedPolicy::test_run(int dir, const uint8_t* pkt, size_t len,
                                                       uint32_t repeat, bool gso) const {
    const int fd = dir == SECPOL_DIR_IN ? ingress_fd() : egress_fd();
    if (fd < 0) return Error::msg("program not loaded");
    if (gso && dir != SECPOL_DIR_OUT) return Error::msg("a GSO test run needs the tc program", EINVAL);
    LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = static_cast<uint32_t>(len),
                .repeat = static_cast<int>(std::max<uint32_t>(1, repeat)));
    __sk_buff ctx{};
    if (gso) {
        ctx.gso_size = 1448;
        ctx.gso_segs = 2;
        o.ctx_in = &ctx;
        o.ctx_size_in = sizeof ctx;
    }
    if (bpf_prog_test_run_opts(fd, &o) != 0) {
        const int e = errno;
        if (dir == SECPOL_DIR_OUT && e == EINVAL && tc_test_run_refuses(pkt, len))
            return Error::msg(
                "BPF_PROG_TEST_RUN secpol_egress: the kernel does not test-run a tc frame whose "
                "IPv4/IPv6 header is cut short (" +
                    std::to_string(len) + " bytes); such a frame is malformed",
                EINVAL);
        errno = e;
        return Error::sys(
            errno, std::string("BPF_PROG_TEST_RUN ") +
                       (dir == SECPOL_DIR_IN ? ingress_prog_name(link_) : egress_prog_name(link_)) + " (" +
                       std::to_string(len) + " bytes)");
    }
    RunResult r;
    r.retval = o.retval;
    r.duration_ns = o.duration;
    if (trace_) {
        const uint32_t zero = 0;
        if (bpf_map_lookup_elem(map_fd(SECPOL_MAP_TRACE), &zero, &r.trace) != 0)
            return Error::sys(errno, "read trace");
    }
    return r;
}

Result<LoadedPolicy::ProgStats> LoadedPolicy::prog_stats(int dir) const {
    const int fd = dir == SECPOL_DIR_IN ? ingress_fd() : egress_fd();
    if (fd < 0) return Error::msg("program not loaded");
    bpf_prog_info info{};
    uint32_t n = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &n) != 0) return Error::sys(errno, "program info");
    ProgStats s;
    s.xlated_insns = info.xlated_prog_len / 8;
    s.jited_bytes = info.jited_prog_len;
    s.verified_insns = info.verified_insns;
    return s;
}

}  // namespace secpol::rt
