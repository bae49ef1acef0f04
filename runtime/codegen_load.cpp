// See codegen_load.h. libbpf 1.1 (bpf_object_load_prog) calls the handler's
// prog_prepare_load_fn with the final instruction stream and re-reads
// prog->insns afterwards, so bpf_program__set_insns there takes effect; the
// func_info the kernel gets is the opts' array, which the handler replaces.
#include "codegen_load.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include <algorithm>
#include <cstring>
#include <map>

namespace secpol::rt {
namespace {

constexpr const char* kWalkName = "secpol_walk";

struct Entry {
    bpf_object* obj = nullptr;
    const std::vector<bpf_insn>* code = nullptr;
    std::vector<bpf_func_info> func_info;  // what the kernel reads during the load
    std::string error;
    size_t swapped = 0;
};

std::mutex g_mu;
std::map<const bpf_program*, Entry>& registry() {
    static std::map<const bpf_program*, Entry> r;
    return r;
}

bool is_pseudo_call(const bpf_insn& i) {
    return (i.code == (BPF_JMP | BPF_CALL) && i.src_reg == BPF_PSEUDO_CALL) ||
           (i.code == (BPF_LD | BPF_IMM | BPF_DW) && i.src_reg == BPF_PSEUDO_FUNC);
}

// Cuts secpol_walk's body out of the stream and appends the generated one.
int swap_walk(bpf_program* prog, bpf_prog_load_opts* opts, Entry& e) {
    const bpf_insn* in = bpf_program__insns(prog);
    const size_t n = bpf_program__insn_cnt(prog);
    const btf* b = bpf_object__btf(e.obj);
    if (!b || !opts->func_info || opts->func_info_rec_size < sizeof(bpf_func_info)) {
        e.error = "program has no BTF func_info, cannot place the generated decision code";
        return -EINVAL;
    }
    std::vector<bpf_func_info> fi(opts->func_info_cnt);
    for (size_t i = 0; i < fi.size(); ++i)
        std::memcpy(&fi[i], static_cast<const char*>(opts->func_info) + i * opts->func_info_rec_size,
                    sizeof(fi[i]));
    std::sort(fi.begin(), fi.end(), [](auto& a, auto& b) { return a.insn_off < b.insn_off; });
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
    const size_t cut = end - start, walk_at = n - cut;
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
    e.func_info = std::move(fi);
    opts->func_info = e.func_info.data();
    opts->func_info_rec_size = sizeof(bpf_func_info);
    opts->func_info_cnt = static_cast<uint32_t>(e.func_info.size());
    // Line info points into the C body that is gone; the listing of the
    // generated code is `secpol compile --dump=bpf`.
    opts->line_info = nullptr;
    opts->line_info_cnt = 0;
    opts->line_info_rec_size = 0;
    if (int err = bpf_program__set_insns(prog, out.data(), out.size())) {
        e.error = "replace the instructions of " + std::string(bpf_program__name(prog));
        return err;
    }
    e.swapped = out.size();
    return 0;
}

int prepare_load(bpf_program* prog, bpf_prog_load_opts* opts, long /*cookie*/) {
    std::lock_guard<std::mutex> g(g_mu);
    auto it = registry().find(prog);
    if (it == registry().end()) return 0;  // not ours: what libbpf's own handler does for xdp/tc
    return swap_walk(prog, opts, it->second);
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
                   const std::vector<bpf_insn>& code_out)
    : obj_(obj) {
    std::lock_guard<std::mutex> g(g_mu);
    bpf_program* p = nullptr;
    bpf_object__for_each_program(p, obj) {
        Entry& e = registry()[p];
        e.obj = obj;
        const bool ingress = bpf_program__type(p) == BPF_PROG_TYPE_XDP;
        e.code = ingress || code_out.empty() ? &code_in : &code_out;
    }
}

WalkSwap::~WalkSwap() {
    std::lock_guard<std::mutex> g(g_mu);
    bpf_program* p = nullptr;
    bpf_object__for_each_program(p, obj_) registry().erase(p);
}

std::string WalkSwap::error() const {
    std::lock_guard<std::mutex> g(g_mu);
    bpf_program* p = nullptr;
    bpf_object__for_each_program(p, obj_) {
        auto it = registry().find(p);
        if (it != registry().end() && !it->second.error.empty()) return it->second.error;
    }
    return {};
}

size_t WalkSwap::swapped() const {
    std::lock_guard<std::mutex> g(g_mu);
    size_t n = 0;
    bpf_program* p = nullptr;
    bpf_object__for_each_program(p, obj_) {
        auto it = registry().find(p);
        if (it != registry().end() && it->second.swapped) ++n;
    }
    return n;
}

}  // namespace secpol::rt
