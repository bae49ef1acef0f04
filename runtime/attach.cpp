#include "attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include <cstdlib>
#include <cstring>

namespace secpol::rt {

const char* to_string(XdpMode m) {
    switch (m) {
        case XdpMode::Auto:
            return "auto";
        case XdpMode::Native:
            return "native";
        case XdpMode::Generic:
            return "generic";
    }
    return "?";
}

Result<XdpAttached> query_xdp(int ifindex) {
    LIBBPF_OPTS(bpf_xdp_query_opts, q);
    if (int err = bpf_xdp_query(ifindex, 0, &q); err) return Error::sys(err, "query XDP");
    XdpAttached a;
    // With programs in several modes prog_id is 0 and the per-mode ids are set.
    a.prog_id = q.prog_id       ? q.prog_id
                : q.drv_prog_id ? q.drv_prog_id
                : q.skb_prog_id ? q.skb_prog_id
                                : q.hw_prog_id;
    if (q.attach_mode == XDP_ATTACHED_DRV) a.mode = XdpMode::Native;
    if (q.attach_mode == XDP_ATTACHED_SKB) a.mode = XdpMode::Generic;
    return a;
}

Result<ProgInfo> prog_info_by_fd(int fd) {
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return Error::sys(errno, "program info");
    return ProgInfo{info.id, info.name};
}

Result<ProgInfo> prog_info_by_id(uint32_t id) {
    UniqueFd fd(bpf_prog_get_fd_by_id(id));
    if (!fd) return Error::sys(errno, "program " + std::to_string(id));
    return prog_info_by_fd(fd.get());
}

Result<LinkInfo> link_info_by_fd(int fd) {
    bpf_link_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return Error::sys(errno, "link info");
    LinkInfo l{info.id, info.prog_id, 0};
    if (info.type == BPF_LINK_TYPE_XDP) l.ifindex = static_cast<int>(info.xdp.ifindex);
    return l;
}

Result<UniqueFd> xdp_link_create(int ifindex, int prog_fd, XdpMode mode) {
    LIBBPF_OPTS(bpf_link_create_opts, opts);
    // For XDP links the kernel reads the attach mode from link_create.flags.
    if (mode == XdpMode::Native) opts.flags = XDP_FLAGS_DRV_MODE;
    if (mode == XdpMode::Generic) opts.flags = XDP_FLAGS_SKB_MODE;
    int fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
    if (fd < 0) return Error::sys(errno, std::string("attach XDP (") + to_string(mode) + " mode)");
    return UniqueFd(fd);
}

Status xdp_link_update(int link_fd, int new_prog_fd, int expected_old_fd) {
    LIBBPF_OPTS(bpf_link_update_opts, opts, .flags = BPF_F_REPLACE,
                .old_prog_fd = static_cast<uint32_t>(expected_old_fd));
    if (bpf_link_update(link_fd, new_prog_fd, &opts) != 0) return Error::sys(errno, "replace XDP program");
    return ok();
}

static bpf_tc_hook egress_hook(int ifindex) {
    bpf_tc_hook h{};
    h.sz = sizeof h;
    h.ifindex = ifindex;
    h.attach_point = BPF_TC_EGRESS;
    return h;
}

Result<bool> tc_hook_ensure(int ifindex) {
    auto h = egress_hook(ifindex);
    int err = bpf_tc_hook_create(&h);
    if (err == 0) return true;
    if (err == -EEXIST) return false;
    return Error::sys(err, "create clsact qdisc");
}

void tc_hook_destroy(int ifindex) {
    // Removes the whole clsact qdisc: only for one this run created and nothing else uses.
    auto h = egress_hook(ifindex);
    h.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
    bpf_tc_hook_destroy(&h);
}

Status tc_attach_egress(int ifindex, int prog_fd, bool replace) {
    auto h = egress_hook(ifindex);
    LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .flags = replace ? unsigned{BPF_TC_F_REPLACE} : 0u,
                .handle = kTcHandle, .priority = kTcPriority);
    if (int err = bpf_tc_attach(&h, &opts); err) return Error::sys(err, "attach tc egress filter");
    return ok();
}

Result<uint32_t> tc_query_egress(int ifindex) {
    auto h = egress_hook(ifindex);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
    int err = bpf_tc_query(&h, &opts);
    // No qdisc (EINVAL) or no filter at our handle (ENOENT): nothing there.
    if (err == -ENOENT || err == -EINVAL) return 0u;
    if (err) return Error::sys(err, "query tc egress filter");
    return opts.prog_id;
}

Status tc_detach_egress(int ifindex) {
    auto h = egress_hook(ifindex);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
    int err = bpf_tc_detach(&h, &opts);
    if (err && err != -ENOENT && err != -EINVAL) return Error::sys(err, "detach tc egress filter");
    return ok();
}

bool fault(const char* point) {
    const char* env = std::getenv("SECPOL_FAULT");
    return env && std::strcmp(env, point) == 0;
}

}  // namespace secpol::rt
