// Owned file descriptors and the bpffs pin layout of a loaded policy:
//   <bpffs>/secpol/IFACE/xdp_link        the XDP bpf_link (keeps ingress attached)
//   <bpffs>/secpol/IFACE/prog_ingress    secpol_ingress (XDP)
//   <bpffs>/secpol/IFACE/prog_egress     secpol_egress (tc egress; the filter holds its own ref)
//   <bpffs>/secpol/IFACE/map_<name>      every map of the object (secpol_counters, ...)
// <bpffs> is /sys/fs/bpf unless SECPOL_BPFFS says otherwise (tests).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "result.h"

namespace secpol::rt {

// A file descriptor closed on destruction; movable, not copyable.
class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1);

  private:
    int fd_ = -1;
};

std::string bpffs_root();                       // /sys/fs/bpf or $SECPOL_BPFFS
std::string pin_dir(const std::string& iface);  // <bpffs>/secpol/IFACE
std::string pin_path(const std::string& iface, const std::string& name);
inline const char* kPinXdpLink = "xdp_link";
inline const char* kPinIngress = "prog_ingress";
inline const char* kPinEgress = "prog_egress";
inline const char* kPinCounters = "map_secpol_counters";

// Fails with a clear message when the pin root is not a mounted bpffs.
Status check_bpffs();
// check_bpffs, and that the bpffs is the one the host (PID 1) sees there:
// under `ip netns exec` /sys is remounted in a private mount namespace, where
// the host's pins are hidden and a bpffs mounted by hand dies with the
// namespace (and the XDP link pinned in it). Those fail with the hint to use
// `nsenter --net=/run/netns/NS` instead.
Status check_host_bpffs();
Status ensure_dir(const std::string& path, unsigned mode = 0700);

// Pins fd at path; an existing pin is replaced atomically by pinning to a
// temporary name first and renaming over it (bpffs supports rename).
Status pin_fd(int fd, const std::string& path);
// bpf_obj_get; ENOENT is reported as an empty fd, not an error.
Result<UniqueFd> open_pin(const std::string& path);
// Removes every pin of the interface and its directory. Missing is fine.
Status remove_pins(const std::string& iface);
// Names currently pinned in the interface directory.
std::vector<std::string> list_pins(const std::string& iface);
// Interfaces that have a pin directory (<bpffs>/secpol/*).
std::vector<std::string> list_pin_ifaces();

}  // namespace secpol::rt
