// What `secpol compile` writes and `secpol load` reads: the template BPF
// object (bpf/secpol.bpf.c, embedded in the binary) plus the policy's
// sections SECPOL_SEC_META (ObjectMeta as JSON), SECPOL_SEC_NODES
// (struct secpol_node[]), SECPOL_SEC_CODE and SECPOL_SEC_CODE_OUT (struct bpf_insn[]).
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <string>
#include <vector>

#include "backend/codegen.h"
#include "backend/object_meta.h"
#include "result.h"
#include "secpol_abi.h"

namespace secpol::backend {

// The BPF program template built from bpf/secpol.bpf.c.
const std::vector<uint8_t>& template_object();
// The same program built with the `log` path (ring buffer, token buckets):
// the template of policies with a `log` clause only.
const std::vector<uint8_t>& template_object_log();
// The same program with the filters inline in the entry programs
// (-DSECPOL_DECIDE_INLINE): no secpol_decide_in/_out call on the filter path.
const std::vector<uint8_t>& template_object_inline();
// The same inline program without the opaque store before the walk
// (-DSECPOL_OPAQUE_RECORD=0): the template of the smallest bodies.
const std::vector<uint8_t>& template_object_inline_direct();

// Which template an object is built from. Auto: pick_template's choice.
// Called: the default template, or the `log` one for a policy with `log`.
enum class Template { Auto, Called, Inline, InlineDirect };
// The object of template t (not Auto) for a policy with this meta.
const std::vector<uint8_t>& template_object(Template t, const ObjectMeta& meta);
// The template compile picks (never Auto): InlineDirect for generated bodies
// of at most kOpaqueMaxInsns instructions each, Inline for the rest the
// loader splices (kSpliceMaxInsns), Called otherwise or with a `log`
// clause. Larger bodies stay a called subprogram of the global function
// (docs/design.md "The fixed path", ninth to eleventh rounds).
Template pick_template(const ObjectMeta& meta, size_t code, size_t code_out);
// Its name in `secpol compile` (text and --json): "called", "log",
// "inline", "inline-direct".
const char* template_name(Template t, const ObjectMeta& meta);
// Whether a policy gets an inline template (Inline or InlineDirect).
bool decide_inline(const ObjectMeta& meta, size_t code, size_t code_out);
// Up to this many instructions per body: every body the loader splices.
// Inline, the walk was verified once per parse path that reaches the entry
// program's site (100 filters first-match: 124k -> 514k, so the limit was
// 1,024); since the record is made opaque to the verifier before the walk
// (bpf/secpol.bpf.c secpol_filters), it is verified once, as in the global
// function: 10 filters 108.6k called -> 107.5k inline, 100 filters
// first-match 123.5k -> 123.3k (docs/design.md "The fixed path", tenth round).
inline constexpr size_t kInlineMaxInsns = kSpliceMaxInsns;
// Up to this many instructions per body, the inline template without the
// opaque store (InlineDirect): 6 instructions fewer on every filter hit,
// but the walk verified once per parse path that reaches it, which grows
// with the body (docs/design.md "The fixed path", eleventh round).
inline constexpr size_t kOpaqueMaxInsns = 1024;

// An entry-point program of an object, as libbpf would see it before load.
struct ProgramInfo {
    std::string name, section;
    size_t insns = 0;  // its own instructions, subprograms not included
};
// The entry points of an ELF BPF object: global functions in executable
// sections other than .text (whose functions are subprograms).
Result<std::vector<ProgramInfo>> programs_of(const std::vector<uint8_t>& elf);

struct ObjectImage {
    std::vector<uint8_t> elf;  // the whole object file
    ObjectMeta meta;
    std::vector<secpol_node> nodes;
    std::vector<bpf_insn>
        code;  // SECPOL_SEC_CODE: generated secpol_walk body, empty for the node-array walker
    std::vector<bpf_insn> code_out;  // SECPOL_SEC_CODE_OUT: the egress body, empty when `code` serves both

    const secpol_config& config() const { return meta.config; }

    static Result<ObjectImage> read_file(const std::string& path);
    static Result<ObjectImage> from_bytes(std::vector<uint8_t> elf);
    // Builds the object bytes from the template and the compiled parts.
    // Which template: by pick_template() (Auto), or forced (tests comparing the forms).
    using Template = backend::Template;
    static Result<ObjectImage> build(ObjectMeta meta, std::vector<secpol_node> nodes,
                                     std::vector<bpf_insn> code = {}, std::vector<bpf_insn> code_out = {},
                                     Template t = Template::Auto);
    Status write_file(const std::string& path) const;
};

}  // namespace secpol::backend
