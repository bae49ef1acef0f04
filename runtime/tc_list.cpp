#include "tc_list.h"

#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "pins.h"

namespace secpol::rt {

namespace {

const rtattr* find_attr(const rtattr* a, int len, unsigned short type) {
    for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
        if (a->rta_type == type) return a;
    return nullptr;
}

std::string attr_str(const rtattr* a) {
    return a ? std::string(static_cast<const char*>(RTA_DATA(a)),
                           strnlen(static_cast<const char*>(RTA_DATA(a)), RTA_PAYLOAD(a)))
             : "";
}

Status dump(int ifindex, bool egress, std::vector<TcFilter>& out) {
    UniqueFd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd) return Error::sys(errno, "netlink socket");
    struct {
        nlmsghdr nh;
        tcmsg tc;
    } req{};
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(tcmsg));
    req.nh.nlmsg_type = RTM_GETTFILTER;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.nh.nlmsg_seq = 1;
    req.tc.tcm_family = AF_UNSPEC;
    req.tc.tcm_ifindex = ifindex;
    req.tc.tcm_parent = TC_H_MAKE(TC_H_CLSACT, egress ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS);
    if (send(fd.get(), &req, req.nh.nlmsg_len, 0) < 0) return Error::sys(errno, "netlink send");
    alignas(nlmsghdr) char buf[32768];
    for (;;) {
        ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error::sys(errno, "netlink receive");
        }
        int len = static_cast<int>(n);
        for (auto* nh = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
            if (nh->nlmsg_type == NLMSG_DONE) return ok();
            if (nh->nlmsg_type == NLMSG_ERROR) {
                int e = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(nh))->error;
                // No clsact qdisc: nothing there.
                if (e == EINVAL || e == ENOENT) return ok();
                return Error::sys(e, "list tc filters");
            }
            if (nh->nlmsg_type != RTM_NEWTFILTER) continue;
            auto* tc = static_cast<tcmsg*>(NLMSG_DATA(nh));
            const auto* attrs =
                reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(tc) + NLMSG_ALIGN(sizeof *tc));
            int alen = static_cast<int>(nh->nlmsg_len - NLMSG_LENGTH(sizeof *tc));
            TcFilter f;
            f.egress = egress;
            f.handle = tc->tcm_handle;
            f.priority = TC_H_MAJ(tc->tcm_info) >> 16;
            f.kind = attr_str(find_attr(attrs, alen, TCA_KIND));
            if (const rtattr* opts = find_attr(attrs, alen, TCA_OPTIONS); opts && f.kind == "bpf") {
                const auto* in = static_cast<const rtattr*>(RTA_DATA(opts));
                int ilen = static_cast<int>(RTA_PAYLOAD(opts));
                if (const rtattr* id = find_attr(in, ilen, TCA_BPF_ID))
                    std::memcpy(&f.prog_id, RTA_DATA(id), sizeof f.prog_id);
                f.prog_name = attr_str(find_attr(in, ilen, TCA_BPF_NAME));
            }
            out.push_back(std::move(f));
        }
    }
}

}  // namespace

Result<std::vector<TcFilter>> tc_list_filters(int ifindex) {
    std::vector<TcFilter> out;
    for (bool egress : {false, true})
        if (auto r = dump(ifindex, egress, out); !r) return r.error();
    return out;
}

}  // namespace secpol::rt
