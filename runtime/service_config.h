// The configuration of `secpol daemon` (docs/service.md), under a config
// directory (/etc/secpol unless --config-dir says otherwise):
//   secpol.conf              optional, `key = value` lines, `#` comments:
//                              on_stop = keep | unload     (default keep)
//                              metrics = ADDR:PORT         (default: none)
//                              xdp_mode = auto | native | generic
//   interfaces.d/IFACE.pol   one policy per interface; the file name is the
//                            interface name
#pragma once

#include <map>
#include <string>

#include "result.h"

namespace secpol::rt {

struct ServiceConfig {
    std::string dir;
    std::string on_stop = "keep";
    std::string metrics;  // ADDR:PORT, empty: no metrics server
    std::string xdp_mode = "auto";
    std::map<std::string, std::string> policies;  // interface -> policy file
};

// Every problem is reported as "FILE:LINE: reason" (or naming the file).
Result<ServiceConfig> read_service_config(const std::string& dir);

// "127.0.0.1:9816", "[::1]:9816" -> host and port.
Result<std::pair<std::string, int>> parse_listen_address(const std::string& s);

}  // namespace secpol::rt
