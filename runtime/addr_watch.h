// rtnetlink subscription to the host's address and link changes
// (RTM_NEWADDR/RTM_DELADDR for IPv4 and IPv6, RTM_NEWLINK/RTM_DELLINK), for
// `secpol daemon`. The events only say *that* something changed: the daemon
// then re-reads every address (host_locals) and writes the difference, so a
// lost event (socket overrun, ENOBUFS) costs nothing but a full re-read.
#pragma once

#include "pins.h"
#include "result.h"

namespace secpol::rt {

class AddressWatch {
  public:
    static Result<AddressWatch> open();
    int fd() const { return fd_.get(); }

    struct Changes {
        bool addresses = false;  // an address was added or removed (or events were lost)
        bool links = false;      // an interface appeared, went or changed
    };
    // Reads every pending message without blocking.
    Result<Changes> drain();

  private:
    explicit AddressWatch(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_;
};

}  // namespace secpol::rt
