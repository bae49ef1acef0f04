// ObjectImage: the template BPF object plus the policy's sections, read and
// written with libelf. SECPOL_SEC_META holds ObjectMeta as one JSON document
// (object_meta.h); SECPOL_SEC_NODES holds the struct secpol_node array and
// SECPOL_SEC_CODE the generated struct bpf_insn array (empty: node-array
// walker), both raw and host-endian (the object is loaded on the machine that compiled it, like
// any BPF object).
#include "backend/object_image.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <map>

#include "backend/codegen.h"

extern "C" const uint8_t secpol_bpf_obj_start[];
extern "C" const uint8_t secpol_bpf_obj_end[];
extern "C" const uint8_t secpol_bpf_log_obj_start[];
extern "C" const uint8_t secpol_bpf_log_obj_end[];
extern "C" const uint8_t secpol_bpf_inline_obj_start[];
extern "C" const uint8_t secpol_bpf_inline_obj_end[];
extern "C" const uint8_t secpol_bpf_inline_direct_obj_start[];
extern "C" const uint8_t secpol_bpf_inline_direct_obj_end[];

namespace secpol::backend {

const std::vector<uint8_t>& template_object() {
    static const std::vector<uint8_t> obj(secpol_bpf_obj_start, secpol_bpf_obj_end);
    return obj;
}

const std::vector<uint8_t>& template_object_log() {
    static const std::vector<uint8_t> obj(secpol_bpf_log_obj_start, secpol_bpf_log_obj_end);
    return obj;
}

const std::vector<uint8_t>& template_object_inline() {
    static const std::vector<uint8_t> obj(secpol_bpf_inline_obj_start, secpol_bpf_inline_obj_end);
    return obj;
}

const std::vector<uint8_t>& template_object_inline_direct() {
    static const std::vector<uint8_t> obj(secpol_bpf_inline_direct_obj_start,
                                          secpol_bpf_inline_direct_obj_end);
    return obj;
}

const std::vector<uint8_t>& template_object(Template t, const ObjectMeta& meta) {
    switch (t) {
        case Template::Inline:
            return template_object_inline();
        case Template::InlineDirect:
            return template_object_inline_direct();
        default:
            return meta.has_log() ? template_object_log() : template_object();
    }
}

Template pick_template(const ObjectMeta& meta, size_t code, size_t code_out) {
    if (meta.has_log() || code == 0 || code > kInlineMaxInsns || code_out > kInlineMaxInsns)
        return Template::Called;
    return code <= kOpaqueMaxInsns && code_out <= kOpaqueMaxInsns ? Template::InlineDirect : Template::Inline;
}

const char* template_name(Template t, const ObjectMeta& meta) {
    switch (t) {
        case Template::Inline:
            return "inline";
        case Template::InlineDirect:
            return "inline-direct";
        default:
            return meta.has_log() ? "log" : "called";
    }
}

bool decide_inline(const ObjectMeta& meta, size_t code, size_t code_out) {
    return pick_template(meta, code, code_out) != Template::Called;
}

namespace {

struct FdCloser {
    int fd;
    ~FdCloser() {
        if (fd >= 0) close(fd);
    }
};

struct ElfCloser {
    Elf* e;
    ~ElfCloser() {
        if (e) elf_end(e);
    }
};

Error elf_error(const std::string& what) {
    return Error::msg(what + ": " + elf_errmsg(-1));
}

bool elf_init() {
    static const bool ok = elf_version(EV_CURRENT) != EV_NONE;
    return ok;
}

// Appends PROGBITS sections to an ELF object. libelf writes only through a
// file descriptor, so the work happens in an anonymous memory file.
// A section's name and contents, which must outlive add_sections (libelf
// writes them from where they are: no copy of a node array of 50 MiB).
struct SectionData {
    std::string first;
    const void* data;
    size_t size;
};

Result<std::vector<uint8_t>> add_sections(const std::vector<uint8_t>& in,
                                          const std::vector<SectionData>& secs) {
    if (!elf_init()) return elf_error("libelf init");
    FdCloser f{memfd_create("secpol-object", MFD_CLOEXEC)};
    if (f.fd < 0) return Error::sys(errno, "memfd_create");
    if (write(f.fd, in.data(), in.size()) != static_cast<ssize_t>(in.size()))
        return Error::sys(errno, "write object");

    ElfCloser e{elf_begin(f.fd, ELF_C_RDWR, nullptr)};
    if (!e.e || elf_kind(e.e) != ELF_K_ELF) return elf_error("template object");
    size_t shstrndx = 0;
    if (elf_getshdrstrndx(e.e, &shstrndx) != 0) return elf_error("section name table");
    Elf_Scn* strscn = elf_getscn(e.e, shstrndx);
    Elf_Data* sd = strscn ? elf_getdata(strscn, nullptr) : nullptr;
    if (!sd) return elf_error("section name table data");

    // The names go at the end of the existing string table, so no offset
    // already in use moves. Buffers must outlive elf_update.
    std::vector<char> names(static_cast<const char*>(sd->d_buf),
                            static_cast<const char*>(sd->d_buf) + sd->d_size);
    std::vector<size_t> name_off;
    for (const auto& [name, _, size] : secs) {
        name_off.push_back(names.size());
        names.insert(names.end(), name.begin(), name.end());
        names.push_back('\0');
    }
    sd->d_buf = names.data();
    sd->d_size = names.size();
    elf_flagdata(sd, ELF_C_SET, ELF_F_DIRTY);

    for (size_t i = 0; i < secs.size(); ++i) {
        Elf_Scn* scn = elf_newscn(e.e);
        if (!scn) return elf_error("new section " + secs[i].first);
        Elf_Data* d = elf_newdata(scn);
        if (!d) return elf_error("new section data " + secs[i].first);
        d->d_buf = const_cast<void*>(secs[i].data);
        d->d_size = secs[i].size;
        d->d_type = ELF_T_BYTE;
        d->d_align = 8;
        d->d_version = EV_CURRENT;
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh)) return elf_error("section header " + secs[i].first);
        sh.sh_name = name_off[i];
        sh.sh_type = SHT_PROGBITS;
        sh.sh_flags = 0;  // not SHF_ALLOC/EXECINSTR: libbpf skips it as unknown data
        sh.sh_addralign = 8;
        sh.sh_entsize = 0;
        if (!gelf_update_shdr(scn, &sh)) return elf_error("section header " + secs[i].first);
    }
    if (elf_update(e.e, ELF_C_WRITE) < 0) return elf_error("write object");
    elf_end(e.e);
    e.e = nullptr;

    struct stat st {};
    if (fstat(f.fd, &st) != 0) return Error::sys(errno, "fstat object");
    std::vector<uint8_t> out(static_cast<size_t>(st.st_size));
    if (pread(f.fd, out.data(), out.size(), 0) != static_cast<ssize_t>(out.size()))
        return Error::sys(errno, "read object back");
    return out;
}

// The contents of the named sections of an ELF object (missing ones absent).
Result<std::map<std::string, std::vector<uint8_t>>> read_sections(const std::vector<uint8_t>& elf,
                                                                  const std::vector<std::string>& wanted) {
    if (!elf_init()) return elf_error("libelf init");
    std::vector<char> copy(elf.begin(), elf.end());  // elf_memory wants a mutable buffer
    ElfCloser e{elf_memory(copy.data(), copy.size())};
    if (!e.e || elf_kind(e.e) != ELF_K_ELF) return Error::msg("not an ELF object");
    size_t shstrndx = 0;
    if (elf_getshdrstrndx(e.e, &shstrndx) != 0) return elf_error("section name table");
    std::map<std::string, std::vector<uint8_t>> out;
    for (Elf_Scn* scn = elf_nextscn(e.e, nullptr); scn; scn = elf_nextscn(e.e, scn)) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh)) return elf_error("section header");
        const char* name = elf_strptr(e.e, shstrndx, sh.sh_name);
        if (!name) continue;
        bool want = false;
        for (const auto& w : wanted) want |= w == name;
        if (!want) continue;
        std::vector<uint8_t> bytes;
        for (Elf_Data* d = elf_getdata(scn, nullptr); d; d = elf_getdata(scn, d)) {
            if (!d->d_buf) continue;
            auto* p = static_cast<const uint8_t*>(d->d_buf);
            bytes.insert(bytes.end(), p, p + d->d_size);
        }
        out[name] = std::move(bytes);
    }
    return out;
}

}  // namespace

Result<std::vector<ProgramInfo>> programs_of(const std::vector<uint8_t>& elf) {
    if (!elf_init()) return elf_error("libelf init");
    std::vector<char> copy(elf.begin(), elf.end());
    ElfCloser e{elf_memory(copy.data(), copy.size())};
    if (!e.e || elf_kind(e.e) != ELF_K_ELF) return Error::msg("not an ELF object");
    size_t shstrndx = 0;
    if (elf_getshdrstrndx(e.e, &shstrndx) != 0) return elf_error("section name table");
    std::vector<ProgramInfo> out;
    for (Elf_Scn* scn = elf_nextscn(e.e, nullptr); scn; scn = elf_nextscn(e.e, scn)) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh)) return elf_error("section header");
        if (sh.sh_type != SHT_SYMTAB) continue;
        Elf_Data* d = elf_getdata(scn, nullptr);
        if (!d || sh.sh_entsize == 0) continue;
        for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; ++i) {
            GElf_Sym sym;
            if (!gelf_getsym(d, static_cast<int>(i), &sym)) continue;
            if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || GELF_ST_BIND(sym.st_info) != STB_GLOBAL) continue;
            GElf_Shdr ph;
            Elf_Scn* ps = elf_getscn(e.e, sym.st_shndx);
            if (!ps || !gelf_getshdr(ps, &ph) || !(ph.sh_flags & SHF_EXECINSTR)) continue;
            const char* name = elf_strptr(e.e, sh.sh_link, sym.st_name);
            const char* sec = elf_strptr(e.e, shstrndx, ph.sh_name);
            // Global functions in .text are subprograms, as libbpf has it.
            if (sec && std::strcmp(sec, ".text") == 0) continue;
            out.push_back({name ? name : "?", sec ? sec : "?", static_cast<size_t>(sym.st_size / 8)});
        }
    }
    return out;
}

Result<ObjectImage> ObjectImage::build(ObjectMeta meta, std::vector<secpol_node> nodes,
                                       std::vector<bpf_insn> code, std::vector<bpf_insn> code_out,
                                       Template t) {
    if (meta.config.nrules != meta.rules.size())
        return Error::msg("object: config says " + std::to_string(meta.config.nrules) + " rules, table has " +
                          std::to_string(meta.rules.size()));
    for (size_t i = 0; i < meta.rules.size(); ++i) meta.rules[i].id = static_cast<uint32_t>(i);
    ObjectImage img;
    img.meta = std::move(meta);
    img.nodes = std::move(nodes);
    img.code = std::move(code);
    img.code_out = std::move(code_out);
    if (img.code.empty() && !img.code_out.empty())
        return Error::msg("object: egress code without ingress code");

    const std::string text = img.meta.dump();
    // Only a policy with `log` gets the program with the log path in it.
    if (t == Template::Auto) t = pick_template(img.meta, img.code.size(), img.code_out.size());
    auto elf =
        add_sections(template_object(t, img.meta),
                     {{SECPOL_SEC_META, text.data(), text.size()},
                      {SECPOL_SEC_NODES, img.nodes.data(), img.nodes.size() * sizeof(secpol_node)},
                      {SECPOL_SEC_CODE, img.code.data(), img.code.size() * sizeof(bpf_insn)},
                      {SECPOL_SEC_CODE_OUT, img.code_out.data(), img.code_out.size() * sizeof(bpf_insn)}});
    if (!elf) return Error{elf.error().err, "build object: " + elf.error().message};
    img.elf = std::move(*elf);
    return img;
}

Result<ObjectImage> ObjectImage::from_bytes(std::vector<uint8_t> elf) {
    auto secs = read_sections(elf, {SECPOL_SEC_META, SECPOL_SEC_NODES, SECPOL_SEC_CODE, SECPOL_SEC_CODE_OUT});
    if (!secs) return secs.error();
    auto m = secs->find(SECPOL_SEC_META);
    if (m == secs->end()) return Error::msg("not a secpol object: no " SECPOL_SEC_META " section");
    auto j = nlohmann::json::parse(m->second.begin(), m->second.end(), nullptr, false);
    if (j.is_discarded()) return Error::msg(SECPOL_SEC_META ": not JSON");
    auto meta = ObjectMeta::from_json(j);
    if (!meta) return Error::msg(std::string(SECPOL_SEC_META ": ") + meta.error().message);
    ObjectImage img;
    img.meta = std::move(*meta);
    auto n = secs->find(SECPOL_SEC_NODES);
    if (n == secs->end()) return Error::msg("not a secpol object: no " SECPOL_SEC_NODES " section");
    if (n->second.size() % sizeof(secpol_node) != 0)
        return Error::msg(SECPOL_SEC_NODES ": size is not a multiple of the node size");
    img.nodes.resize(n->second.size() / sizeof(secpol_node));
    if (!img.nodes.empty()) std::memcpy(img.nodes.data(), n->second.data(), n->second.size());
    for (auto [name, code] :
         {std::pair{SECPOL_SEC_CODE, &img.code}, std::pair{SECPOL_SEC_CODE_OUT, &img.code_out}}) {
        auto c = secs->find(name);
        if (c == secs->end()) continue;
        if (c->second.size() % sizeof(bpf_insn) != 0)
            return Error::msg(std::string(name) + ": size is not a multiple of the instruction size");
        code->resize(c->second.size() / sizeof(bpf_insn));
        if (!code->empty()) std::memcpy(code->data(), c->second.data(), c->second.size());
    }
    if (img.code.empty() && !img.code_out.empty())
        return Error::msg(SECPOL_SEC_CODE_OUT " without " SECPOL_SEC_CODE);
    img.elf = std::move(elf);
    return img;
}

Result<ObjectImage> ObjectImage::read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error::sys(errno, path);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return Error::sys(errno, path);
    auto img = from_bytes(std::move(bytes));
    if (!img) return Error{img.error().err, path + ": " + img.error().message};
    return img;
}

Status ObjectImage::write_file(const std::string& path) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) return Error::sys(errno, path);
    out.write(reinterpret_cast<const char*>(elf.data()), static_cast<std::streamsize>(elf.size()));
    out.close();
    if (!out) return Error::sys(errno ? errno : EIO, path);
    return ok();
}

}  // namespace secpol::backend
