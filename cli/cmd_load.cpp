// `secpol load` and `secpol unload`: put a policy on an interface (compiling
// it first when given policy text), replace one atomically, take it off.
#include <bpf/libbpf.h>
#include <elf.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <memory>

#include "commands.h"
#include "log.h"
#include "runtime/compile.h"
#include "runtime/guard.h"
#include "runtime/lock.h"
#include "runtime/netif.h"
#include "runtime/program.h"
#include "runtime/swap.h"

namespace secpol::cli {

namespace {

struct LoadArgs {
    std::string file;
    std::string dev;
    std::string mode = "auto";
    std::vector<std::string> local;
};

// Prints one error line. Detail after the first line (a verifier log) only at -v.
int fail(const Error& e) {
    auto nl = e.message.find('\n');
    std::string head = e.message.substr(0, nl);
    log::write(log::Error, "%s\n", head.c_str());
    if (nl != std::string::npos) log::write(log::Info, "%s\n", e.message.substr(nl + 1).c_str());
    return 1;
}

Status require_root(const std::string& dev) {
    if (geteuid() != 0)
        return Error::msg(dev + ": secpol needs root (CAP_BPF, CAP_NET_ADMIN) to attach programs", EPERM);
    return ok();
}

Result<ref::LocalTable> locals_from(const std::vector<std::string>& specs) {
    ref::LocalTable t;
    bool want_auto = specs.empty();
    for (const auto& s : specs) {
        if (s == "auto") {
            want_auto = true;
        } else if (!t.add(s)) {
            return Error::msg("--local: '" + s + "' is not an address (ADDR or ADDR/LEN)", EINVAL);
        }
    }
    if (want_auto) {
        auto host = rt::host_locals();
        if (!host) return host.error();
        t.addrs.insert(host->addrs.begin(), host->addrs.end());
        t.broadcasts.insert(host->broadcasts.begin(), host->broadcasts.end());
    }
    return t;
}

// The policy compiled in-process, or a compiled object read as is.
Result<rt::ObjectImage> image_of(const std::string& path, const std::string& dev) {
    if (is_elf_file(path)) {
        auto img = rt::ObjectImage::read_file(path);
        if (!img) return Error{img.error().err, dev + ": " + img.error().message};
        return std::move(*img);
    }
    front::Diagnostics diags;
    auto c = compile_policy_file(path, diags);
    if (!c) return Error{c.error().err, dev + ": " + c.error().message};
    if (!diags.all().empty()) {
        auto text = read_text_file(path);
        diags.print(std::cerr, text ? *text : std::string());
    }
    if (!*c) return Error::msg(dev + ": " + path + ": policy has errors, nothing loaded", EINVAL);
    return std::move((*c)->image);
}

// SECPOL_FAULT=verifier: makes the first instruction of secpol_ingress read
// an uninitialised register, so the kernel's verifier really rejects the
// object (tests of the rejection path; no policy provokes one on purpose).
void inject_verifier_fault(std::vector<uint8_t>& elf) {
    if (elf.size() < sizeof(Elf64_Ehdr)) return;
    auto* eh = reinterpret_cast<Elf64_Ehdr*>(elf.data());
    if (eh->e_shoff + uint64_t{eh->e_shnum} * sizeof(Elf64_Shdr) > elf.size() ||
        eh->e_shstrndx >= eh->e_shnum)
        return;
    auto* sh = reinterpret_cast<Elf64_Shdr*>(elf.data() + eh->e_shoff);
    const char* names = reinterpret_cast<const char*>(elf.data() + sh[eh->e_shstrndx].sh_offset);
    for (unsigned i = 0; i < eh->e_shnum; ++i) {
        if (std::strcmp(names + sh[i].sh_name, "xdp") != 0 || sh[i].sh_size < 8) continue;
        const uint8_t bad[8] = {0x79, 0x90, 0, 0, 0, 0, 0, 0};  // r0 = *(u64 *)(r9 + 0)
        std::memcpy(elf.data() + sh[i].sh_offset, bad, sizeof bad);
    }
}

std::string map_pin_name(const char* name) {
    std::string n = name;
    for (char& c : n)
        if (c == '.') c = '_';
    return n;
}

int run_load(const LoadArgs& a) {
    if (auto r = require_root(a.dev); !r) return fail(r.error());
    auto iface = rt::find_interface(a.dev);
    if (!iface) return fail(iface.error());
    if (auto r = rt::check_bpffs(); !r) return fail(Error{r.error().err, a.dev + ": " + r.error().message});
    auto lock = rt::InterfaceLock::acquire(a.dev);
    if (!lock) return fail(Error{lock.error().err, a.dev + ": " + lock.error().message});
    rt::kill_point("locked");
    // Refuse foreign programs before spending time compiling and verifying.
    auto cur = rt::inspect(*iface);
    if (!cur) return fail(cur.error());

    auto img = image_of(a.file, a.dev);
    if (!img) return fail(img.error());
    auto locals = locals_from(a.local);
    if (!locals) return fail(Error{locals.error().err, a.dev + ": " + locals.error().message});
    if (rt::fault("verifier")) inject_verifier_fault(img->elf);
    auto lp = rt::LoadedPolicy::load(*img, *locals);
    if (!lp) {
        const Error& e = lp.error();
        auto nl = e.message.find('\n');
        std::string head = e.message.substr(0, nl);
        // The kernel says EACCES ("Permission denied") for a rejected program, which reads like a privilege
        // problem.
        std::string why = e.err && e.err != EACCES ? std::string(" (") + std::strerror(e.err) + ")" : "";
        if (head.find("verifier") != std::string::npos) {
            // The verifier log is long; -v shows its last lines.
            if (nl != std::string::npos) log::write(log::Info, "%s\n", e.message.substr(nl + 1).c_str());
            log::write(
                log::Error,
                "%s: the BPF verifier rejected the policy program%s; nothing changed (-v shows its log)\n",
                a.dev.c_str(), why.c_str());
            return 1;
        }
        return fail(Error{e.err, a.dev + ": " + e.message});
    }

    rt::kill_point("verified");

    rt::PolicyHandles h;
    h.ingress_fd = (*lp)->ingress_fd();
    h.egress_fd = (*lp)->egress_fd();
    h.counters_fd = (*lp)->map_fd(SECPOL_MAP_COUNTERS);
    bpf_map* m = nullptr;
    bpf_object__for_each_map(m, (*lp)->object())
        h.maps.emplace_back(map_pin_name(bpf_map__name(m)), bpf_map__fd(m));
    h.meta = img->meta;
    h.nrules = img->config.nrules;
    h.label = img->meta.value("policy", nlohmann::json::object()).value("label", "");
    h.policy_file = a.file;
    if (h.ingress_fd < 0 || h.egress_fd < 0 || h.counters_fd < 0)
        return fail(
            Error::msg(a.dev + ": object lacks secpol_ingress, secpol_egress or secpol_counters", EINVAL));

    rt::XdpMode mode = a.mode == "native"    ? rt::XdpMode::Native
                       : a.mode == "generic" ? rt::XdpMode::Generic
                                             : rt::XdpMode::Auto;
    auto res = rt::install(*cur, h, mode);
    if (!res) return fail(res.error());
    const auto& st = res->state;
    std::printf("%s: %s policy \"%s\" (%u rules): XDP %s prog %u (link %u), tc egress prog %u\n",
                a.dev.c_str(), res->replaced ? "replaced with" : "loaded", st.label.c_str(), st.nrules,
                st.xdp_mode.c_str(), st.ingress_prog_id, st.xdp_link_id, st.egress_prog_id);
    if (res->replaced)
        std::printf(
            "%s: counters carried over: in %lld packets, out %lld packets; retired (rules gone): in %lld, "
            "out %lld\n",
            a.dev.c_str(), static_cast<long long>(res->carried[0].packets),
            static_cast<long long>(res->carried[1].packets), static_cast<long long>(res->retired[0].packets),
            static_cast<long long>(res->retired[1].packets));
    return 0;
}

int run_unload(const std::string& dev) {
    if (auto r = require_root(dev); !r) return fail(r.error());
    auto lock = rt::InterfaceLock::acquire(dev);
    if (!lock) return fail(Error{lock.error().err, dev + ": " + lock.error().message});
    auto r = rt::uninstall(dev);
    if (!r) return fail(r.error());
    std::printf("%s: %s\n", dev.c_str(), *r ? "unloaded" : "no secpol policy (nothing to do)");
    return 0;
}

}  // namespace

void add_load(CLI::App& app, int& exit_code) {
    auto a = std::make_shared<LoadArgs>();
    auto* load =
        app.add_subcommand("load", "Compile (if needed) and attach a policy: XDP ingress + tc egress");
    load->add_option("POLICY", a->file, "policy file, or an object written by `secpol compile`")
        ->required()
        ->check(CLI::ExistingFile);
    load->add_option("--dev", a->dev, "interface")->required();
    load->add_option("--xdp-mode", a->mode, "XDP attach mode (default: native when the driver has it)")
        ->check(CLI::IsMember({"auto", "native", "generic"}));
    load->add_option("--local", a->local,
                     "addresses that are 'me': auto (the kernel's, the default) and/or ADDR[/LEN] ...")
        ->expected(1, -1);
    load->callback([a, &exit_code] { exit_code = run_load(*a); });

    auto dev = std::make_shared<std::string>();
    auto* unload =
        app.add_subcommand("unload", "Detach the policy of an interface, remove its pins and state");
    unload->add_option("--dev", *dev, "interface")->required();
    unload->callback([dev, &exit_code] { exit_code = run_unload(*dev); });
}

}  // namespace secpol::cli
