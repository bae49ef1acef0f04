#include "addr_watch.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

namespace secpol::rt {

Result<AddressWatch> AddressWatch::open() {
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd) return Error::sys(errno, "rtnetlink socket");
    // Bursts (an interface with many addresses going away) should not overrun
    // it; an overrun is still handled (ENOBUFS means "re-read everything").
    int rcvbuf = 1 << 20;
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_LINK;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
        return Error::sys(errno, "subscribe to rtnetlink address events");
    return AddressWatch(std::move(fd));
}

Result<AddressWatch::Changes> AddressWatch::drain() {
    Changes c;
    alignas(nlmsghdr) char buf[16384];
    for (;;) {
        ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return c;
            if (errno == ENOBUFS) {  // events lost: assume everything changed
                c.addresses = c.links = true;
                continue;
            }
            return Error::sys(errno, "read rtnetlink events");
        }
        auto len = static_cast<unsigned>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
            switch (h->nlmsg_type) {
                case RTM_NEWADDR:
                case RTM_DELADDR:
                    c.addresses = true;
                    break;
                case RTM_NEWLINK:
                case RTM_DELLINK:
                    c.links = true;
                    break;
                default:
                    break;
            }
        }
    }
}

}  // namespace secpol::rt
