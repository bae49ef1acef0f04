// See codegen_load.h. libbpf 1.1 (bpf_object_load_prog) calls the handler's
// prog_prepare_load_fn with the final instruction stream and re-reads
// prog->insns afterwards, so bpf_program__set_insns there takes effect; the
// func_info the kernel gets is the opts' array, which the handler replaces.
#include "codegen_load.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "cfg_fold.h"
#include "insn_stream.h"
#include "walk_splice.h"

namespace secpol::rt {
namespace {

constexpr const char* kWalkName = "secpol_walk";

// The load of a detached program: its own copies of what libbpf prepared.
struct Detached {
    std::string name;
    bpf_prog_type type = BPF_PROG_TYPE_UNSPEC;
    std::vector<bpf_insn> insns;
    std::vector<bpf_func_info> func_info;
    bpf_prog_load_opts opts{};
    std::thread thread;
    int fd = -1;
    int err = 0;
    std::vector<char> log;  // the verifier's, on failure
};

struct Entry {
    bpf_object* obj = nullptr;
    const std::vector<bpf_insn>* code = nullptr;
    std::vector<bpf_func_info> func_info;  // what the kernel reads during the load
    std::string error;
    size_t swapped = 0;
    size_t splice_max = 0;               // bodies up to this size go in place of their calls (walk_splice.h)
    size_t spliced = 0;                  // calls replaced by the body
    size_t entry_spliced = 0;            // of which in the entry program (the filters inline)
    std::string kept_why;                // why a call of the walk stays, if one does
    std::unique_ptr<Detached> detached;  // set: load this program in a thread
    const bpf_map* cfg = nullptr;        // set: fold this frozen config into the program (cfg_fold.h)
    CfgFolded folded;                    // its counts (insns, func_info emptied), or why not
};

constexpr const char* kLicense = "Dual MIT/GPL";  // bpf/secpol.bpf.c's
constexpr size_t kLogSize = 4u << 20;             // the tail is what matters

// For a developer measuring the verifier (docs/design.md "The fixed path",
// tenth round): with SECPOL_VERIFIER_LOG=PREFIX set, a program that loaded
// is loaded once more with the verifier's log at SECPOL_VERIFIER_LOG_LEVEL
// (default 2: every processed instruction; 4: the statistics alone), written
// to PREFIX.N.NAME. libbpf's own log stops at the first load's, and the log
// of a program loaded in a thread never reaches it.
void write_verifier_log(const Detached& d) {
    const char* prefix = std::getenv("SECPOL_VERIFIER_LOG");
    if (!prefix) return;
    static std::atomic<int> seq{0};
    bpf_prog_load_opts o = d.opts;
    const char* level = std::getenv("SECPOL_VERIFIER_LOG_LEVEL");
    o.log_level = level ? static_cast<uint32_t>(std::atoi(level)) : 2;
    // Every processed instruction of a large body takes hundreds of MiB, so
    // up to the kernel's limit for the log, left uninitialised (the kernel
    // touches only what it writes); the statistics alone fit in a page.
    const size_t size = (o.log_level & 3) != 0 ? (1u << 30) - 1 : 1u << 16;
    auto buf = std::make_unique_for_overwrite<char[]>(size);
    buf[0] = '\0';
    o.log_buf = buf.get();
    o.log_size = static_cast<uint32_t>(size);
    const int fd = bpf_prog_load(d.type, d.name.c_str(), kLicense, d.insns.data(), d.insns.size(), &o);
    if (fd >= 0) ::close(fd);
    const std::string path = std::string(prefix) + "." + std::to_string(seq++) + "." + d.name;
    if (FILE* f = std::fopen(path.c_str(), "w")) {
        std::fwrite(buf.get(), 1, strnlen(buf.get(), size), f);
        std::fclose(f);
    }
}

// Loads d as libbpf would have; on a refusal loads it again with the
// verifier's log, as libbpf does, for the error.
void load_detached(Detached* d) {
    d->opts.func_info = d->func_info.data();
    d->fd = bpf_prog_load(d->type, d->name.c_str(), kLicense, d->insns.data(), d->insns.size(), &d->opts);
    if (d->fd >= 0) {
        write_verifier_log(*d);
        return;
    }
    d->err = errno;
    d->log.assign(kLogSize, '\0');
    d->opts.log_level = 1;
    d->opts.log_buf = d->log.data();
    d->opts.log_size = static_cast<uint32_t>(d->log.size());
    int again = bpf_prog_load(d->type, d->name.c_str(), kLicense, d->insns.data(), d->insns.size(), &d->opts);
    if (again >= 0) ::close(again);  // refused once, passed once: report the refusal
}

// Hands the program to a thread with its own copies and gives libbpf a
// stand-in that returns 0 (never attached: LoadedPolicy uses the real fd).
int detach_load(bpf_program* prog, bpf_prog_load_opts* opts, Entry& e) {
    Detached& d = *e.detached;
    d.name = bpf_program__name(prog);
    d.type = bpf_program__type(prog);
    const bpf_insn* in = bpf_program__insns(prog);
    d.insns.assign(in, in + bpf_program__insn_cnt(prog));
    d.func_info = e.func_info;
    d.opts = *opts;
    d.opts.sz = sizeof(d.opts);
    d.opts.log_buf = nullptr;
    d.opts.log_size = 0;
    d.opts.log_level = 0;
    d.opts.line_info = nullptr;
    d.opts.line_info_cnt = 0;
    d.opts.line_info_rec_size = 0;
    d.thread = std::thread(load_detached, &d);
    static const bpf_insn stand_in[2] = {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
                                         {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
    opts->func_info = nullptr;
    opts->func_info_cnt = 0;
    opts->func_info_rec_size = 0;
    if (int err = bpf_program__set_insns(prog, const_cast<bpf_insn*>(stand_in), 2)) {
        e.error = "replace the instructions of " + d.name + " by its stand-in";
        return err;
    }
    return 0;
}

std::mutex g_mu;
std::map<const bpf_program*, Entry>& registry() {
    static std::map<const bpf_program*, Entry> r;
    return r;
}

// The one program of obj loaded in a thread, or null (g_mu held).
Detached* find_detached(const bpf_object* obj) {
    bpf_program* p = nullptr;
    bpf_object__for_each_program(p, obj) {
        auto it = registry().find(p);
        if (it != registry().end() && it->second.detached) return it->second.detached.get();
    }
    return nullptr;
}

// Moves the function out[from, to) to right after the entry function: a
// called body (the last function), or the function a body too big for the
// entry program was spliced into. After verifying, the kernel removes the
// fixed code's dead branches (the frozen config's) and patches its helper
// calls and map lookups in place; each such edit moves every instruction,
// and its per-instruction state, behind it. Behind the fixed subprograms
// the body was moved by every edit in them; here only by those in the
// entry function (and, spliced, its own function's before it). The fixed
// functions' jumps stay within their function, so only calls cross the
// cut: they and the func_info offsets are remapped.
void place_early(std::vector<bpf_insn>& out, std::vector<bpf_func_info>& fi, size_t from, size_t to) {
    if (fi.size() < 3 || fi[1].insn_off >= from) return;  // no fixed subprogram to pass
    const size_t at = fi[1].insn_off, len = to - from;
    auto moved = [&](size_t old) -> size_t {
        if (old < at || old >= to) return old;
        if (old < from) return old + len;
        return old - from + at;
    };
    std::vector<bpf_insn> re(out.size());
    for (size_t i = 0; i < out.size(); ++i) {
        bpf_insn x = out[i];
        const size_t dst = moved(i);
        if (is_pseudo_call(x))
            x.imm = static_cast<int32_t>(int64_t(moved(size_t(int64_t(i) + x.imm + 1))) - int64_t(dst) - 1);
        re[dst] = x;
    }
    out = std::move(re);
    for (auto& f : fi) f.insn_off = static_cast<uint32_t>(moved(f.insn_off));
    std::sort(fi.begin(), fi.end(), [](auto& a, auto& b) { return a.insn_off < b.insn_off; });
}

// The func_info libbpf hands the kernel, sorted by offset; empty if none.
std::vector<bpf_func_info> read_func_info(const bpf_prog_load_opts* opts) {
    if (!opts->func_info || opts->func_info_rec_size < sizeof(bpf_func_info)) return {};
    std::vector<bpf_func_info> fi(opts->func_info_cnt);
    for (size_t i = 0; i < fi.size(); ++i)
        std::memcpy(&fi[i], static_cast<const char*>(opts->func_info) + i * opts->func_info_rec_size,
                    sizeof(fi[i]));
    std::sort(fi.begin(), fi.end(), [](auto& a, auto& b) { return a.insn_off < b.insn_off; });
    return fi;
}

// Gives the kernel e.func_info and insns in place of what libbpf prepared.
// Line info points into the C code that moved; the listing of the generated
// code is `secpol compile --dump=bpf`.
int set_program(bpf_program* prog, bpf_prog_load_opts* opts, Entry& e, const std::vector<bpf_insn>& insns) {
    opts->func_info = e.func_info.data();
    opts->func_info_rec_size = sizeof(bpf_func_info);
    opts->func_info_cnt = static_cast<uint32_t>(e.func_info.size());
    opts->line_info = nullptr;
    opts->line_info_cnt = 0;
    opts->line_info_rec_size = 0;
    if (int err = bpf_program__set_insns(prog, const_cast<bpf_insn*>(insns.data()), insns.size())) {
        e.error = "replace the instructions of " + std::string(bpf_program__name(prog));
        return err;
    }
    return 0;
}

// Folds the frozen config into out / fi (cfg_fold.h). A map that is not
// frozen, or a stream the pass does not read, stays as it was (false).
bool fold_cfg(std::vector<bpf_insn>& out, std::vector<bpf_func_info>& fi, Entry& e) {
    auto value = frozen_map_value(bpf_map__fd(e.cfg));
    if (!value) {
        e.folded.kept_why = value.error().message;
        return false;
    }
    if (fi.empty()) {
        e.folded.kept_why = "no func_info";
        return false;
    }
    e.folded = fold_config(out, fi, bpf_map__fd(e.cfg), *value);
    if (!e.folded.kept_why.empty()) {
        e.folded.insns.clear();
        e.folded.func_info.clear();
        return false;
    }
    out = std::move(e.folded.insns);
    fi = std::move(e.folded.func_info);
    e.folded.insns.clear();
    e.folded.func_info.clear();
    return true;
}

// Cuts secpol_walk's body out of the stream and appends the generated one.
int swap_walk(bpf_program* prog, bpf_prog_load_opts* opts, Entry& e) {
    const bpf_insn* in = bpf_program__insns(prog);
    const size_t n = bpf_program__insn_cnt(prog);
    const btf* b = bpf_object__btf(e.obj);
    std::vector<bpf_func_info> fi = read_func_info(opts);
    if (!b || fi.empty()) {
        e.error = "program has no BTF func_info, cannot place the generated decision code";
        return -EINVAL;
    }
    size_t k = fi.size();
    for (size_t i = 0; i < fi.size(); ++i) {
        const btf_type* t = btf__type_by_id(b, fi[i].type_id);
        if (t && std::strcmp(btf__name_by_offset(b, t->name_off), kWalkName) == 0) k = i;
    }
    if (k == fi.size()) {
        e.error = std::string(bpf_program__name(prog)) + ": no subprogram " + kWalkName;
        return -ENOENT;
    }
    const size_t start = fi[k].insn_off, end = k + 1 < fi.size() ? fi[k + 1].insn_off : n;
    const size_t cut = end - start;
    size_t walk_at = n - cut;
    const uint32_t walk_type = fi[k].type_id;
    auto moved = [&](size_t old) -> int64_t {
        if (old < start) return int64_t(old);
        if (old >= end) return int64_t(old - cut);
        return old == start ? int64_t(walk_at) : -1;
    };
    std::vector<bpf_insn> out;
    out.reserve(walk_at + e.code->size());
    for (size_t i = 0; i < n; ++i) {
        if (i >= start && i < end) continue;
        bpf_insn x = in[i];
        if (is_pseudo_call(x)) {
            const int64_t to = moved(i + x.imm + 1);
            if (to < 0) {
                e.error = "a call into the middle of " + std::string(kWalkName);
                return -EINVAL;
            }
            x.imm = static_cast<int32_t>(to - int64_t(out.size()) - 1);
        }
        out.push_back(x);
    }
    out.insert(out.end(), e.code->begin(), e.code->end());
    for (auto& f : fi) f.insn_off = static_cast<uint32_t>(moved(f.insn_off));
    std::sort(fi.begin(), fi.end(), [](auto& a, auto& b) { return a.insn_off < b.insn_off; });
    // The frozen config is folded in after the splice: the copies' exits
    // then carry their constants into the caller's tests of the result, and
    // the fold decides those too (2-5 instructions on a hit or a default).
    // A body beyond kSpliceMaxInsns is folded before instead: the fold
    // leaves a function that never loads the config as it is (the walk's
    // body), but a copy spliced into secpol_decide_in/_out it would
    // propagate through, 200k instructions at 10,000 filters (+0.35 s of
    // the load's CPU). The walk stays the last function; one the fold
    // removed (no call left to it) is not spliced.
    const bool fold_first = e.code->size() > backend::kSpliceMaxInsns;
    if (e.cfg && fold_first && fold_cfg(out, fi, e)) {
        if (fi.empty() || fi.back().type_id != walk_type ||
            out.size() - fi.back().insn_off != e.code->size()) {
            e.func_info = std::move(fi);
            if (int err = set_program(prog, opts, e, out)) return err;
            e.swapped = out.size();
            return 0;
        }
        walk_at = fi.back().insn_off;
    }
    // The body in place of its calls: one BPF-to-BPF call fewer per filter hit.
    if (e.splice_max && !e.code->empty()) {
        const auto w = std::find_if(fi.begin(), fi.end(), [&](auto& f) { return f.insn_off == walk_at; });
        auto s = splice_walk(out, fi, size_t(w - fi.begin()), e.splice_max, /*entry_out_of_line=*/true);
        if (!s) {
            e.error = std::string(bpf_program__name(prog)) + ": " + s.error().message;
            return -EINVAL;
        }
        e.kept_why = s->kept_why;
        if (s->sites) {
            out = std::move(s->insns);
            fi = std::move(s->func_info);
            e.spliced = s->sites;
            e.entry_spliced = s->entry_sites;
        }
    }
    if (e.spliced == 0) {
        place_early(out, fi, walk_at, out.size());
    } else if (e.spliced > e.entry_spliced) {
        // Spliced into a subprogram (a body too big for the entry program):
        // the largest one holds it.
        size_t big = 1;
        auto len = [&](size_t f) {
            return (f + 1 < fi.size() ? fi[f + 1].insn_off : out.size()) - fi[f].insn_off;
        };
        for (size_t f = 2; f < fi.size(); ++f)
            if (len(f) > len(big)) big = f;
        if (fi.size() > 1) place_early(out, fi, fi[big].insn_off, fi[big].insn_off + len(big));
    }
    if (e.cfg && !fold_first) fold_cfg(out, fi, e);
    e.func_info = std::move(fi);
    if (int err = set_program(prog, opts, e, out)) return err;
    e.swapped = out.size();
    return 0;
}

// A program without generated code (the node-array walker): the fold alone.
int fold_only(bpf_program* prog, bpf_prog_load_opts* opts, Entry& e) {
    const bpf_insn* in = bpf_program__insns(prog);
    std::vector<bpf_insn> out(in, in + bpf_program__insn_cnt(prog));
    std::vector<bpf_func_info> fi = read_func_info(opts);
    if (!fold_cfg(out, fi, e)) return 0;
    e.func_info = std::move(fi);
    return set_program(prog, opts, e, out);
}

int prepare_load(bpf_program* prog, bpf_prog_load_opts* opts, long /*cookie*/) {
    std::lock_guard<std::mutex> g(g_mu);
    auto it = registry().find(prog);
    if (it == registry().end()) return 0;  // not ours: what libbpf's own handler does for xdp/tc
    Entry& e = it->second;
    if (e.code) {
        if (int err = swap_walk(prog, opts, e)) return err;
    } else if (e.cfg) {
        if (int err = fold_only(prog, opts, e)) return err;
    }
    return e.detached ? detach_load(prog, opts, e) : 0;
}

}  // namespace

Status install_walk_swap_handlers() {
    static std::once_flag once;
    static int err = 0;
    std::call_once(once, [] {
        LIBBPF_OPTS(libbpf_prog_handler_opts, o, .prog_prepare_load_fn = prepare_load);
        if (int id = libbpf_register_prog_handler("xdp", BPF_PROG_TYPE_XDP, BPF_XDP, &o); id < 0) err = id;
        if (int id = libbpf_register_prog_handler("tc", BPF_PROG_TYPE_SCHED_CLS,
                                                  static_cast<bpf_attach_type>(0), &o);
            id < 0 && !err)
            err = id;
    });
    if (err) return Error::sys(-err, "register libbpf section handlers for the generated decision code");
    return ok();
}

WalkSwap::WalkSwap(bpf_object* obj, const std::vector<bpf_insn>& code_in,
                   const std::vector<bpf_insn>& code_out, const bpf_program* detach, size_t splice_max,
                   const bpf_map* cfg)
    : obj_(obj) {
    std::lock_guard<std::mutex> g(g_mu);
    bpf_program* p = nullptr;
    bpf_object__for_each_program(p, obj) {
        Entry& e = registry()[p];
        e.obj = obj;
        const bool ingress = bpf_program__type(p) == BPF_PROG_TYPE_XDP;
        e.code = ingress || code_out.empty() ? &code_in : &code_out;
        if (code_in.empty() && code_out.empty()) e.code = nullptr;  // the node-array walker stays
        e.splice_max = splice_max;
        e.cfg = cfg;
        if (p == detach) e.detached = std::make_unique<Detached>();
    }
}

WalkSwap::~WalkSwap() {
    std::lock_guard<std::mutex> g(g_mu);
    bpf_program* p = nullptr;
    bpf_object__for_each_program(p, obj_) {
        auto it = registry().find(p);
        if (it == registry().end()) continue;
        if (Detached* d = it->second.detached.get()) {
            // A thread still verifying must not outlive the object's map fds.
            if (d->thread.joinable()) d->thread.join();
            if (d->fd >= 0) ::close(d->fd);  // never handed out
        }
        registry().erase(it);
    }
}

Result<int> WalkSwap::finish() {
    Detached* d = nullptr;
    {
        std::lock_guard<std::mutex> g(g_mu);
        d = find_detached(obj_);
    }
    if (!d) return Error::msg("no program was loaded in a thread", EINVAL);
    if (d->thread.joinable()) d->thread.join();
    if (d->insns.empty())  // libbpf never reached it: no thread was started
        return Error::msg("the program to load in a thread was never prepared", EINVAL);
    if (d->fd < 0) return Error::sys(d->err, "load " + d->name + " (verifier)");
    return std::exchange(d->fd, -1);
}

const std::vector<char>& WalkSwap::detached_log() const {
    static const std::vector<char> none;
    std::lock_guard<std::mutex> g(g_mu);
    const Detached* d = find_detached(obj_);
    return d ? d->log : none;
}

namespace {

// Calls f(prog, entry) for each of obj's programs that a WalkSwap names,
// until f returns true. The caller holds g_mu.
template <class F>
void each_entry(bpf_object* obj, F f) {
    bpf_program* p = nullptr;
    bpf_object__for_each_program(p, obj) {
        auto it = registry().find(p);
        if (it != registry().end() && f(p, it->second)) return;
    }
}

// The sum over the object's programs of f(entry).
template <typename F>
size_t sum_entries(bpf_object* obj, F f) {
    std::lock_guard<std::mutex> g(g_mu);
    size_t n = 0;
    each_entry(obj, [&](bpf_program*, const Entry& e) {
        n += f(e);
        return false;
    });
    return n;
}

}  // namespace

std::string WalkSwap::error() const {
    std::lock_guard<std::mutex> g(g_mu);
    std::string why;
    each_entry(obj_, [&](bpf_program*, const Entry& e) {
        why = e.error;
        return !why.empty();
    });
    return why;
}

size_t WalkSwap::swapped() const {
    return sum_entries(obj_, [](const Entry& e) { return size_t{e.swapped != 0}; });
}

std::string WalkSwap::kept_why() const {
    std::lock_guard<std::mutex> g(g_mu);
    std::string why;
    each_entry(obj_, [&](bpf_program* p, const Entry& e) {
        if (e.kept_why.empty()) return false;
        why = std::string(bpf_program__name(p)) + ": " + e.kept_why;
        return true;
    });
    return why;
}

size_t WalkSwap::spliced() const {
    return sum_entries(obj_, [](const Entry& e) { return e.spliced; });
}

size_t WalkSwap::entry_spliced() const {
    return sum_entries(obj_, [](const Entry& e) { return e.entry_spliced; });
}

std::string WalkSwap::folded() const {
    std::lock_guard<std::mutex> g(g_mu);
    std::string s;
    each_entry(obj_, [&](bpf_program* p, const Entry& e) {
        if (!e.cfg || !bpf_program__autoload(p)) return false;
        const CfgFolded& f = e.folded;
        s += s.empty() ? "" : "; ";
        s += bpf_program__name(p);
        if (!f.kept_why.empty()) {
            s += ": not folded (" + f.kept_why + ")";
            return false;
        }
        s += ": " + std::to_string(f.loads) + " loads, " + std::to_string(f.decided) + " jumps decided, " +
             std::to_string(f.removed) + " instructions and " + std::to_string(f.functions) +
             " subprograms removed";
        return false;
    });
    return s;
}

}  // namespace secpol::rt
