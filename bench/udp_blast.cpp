// Traffic for bench/veth_pps.sh: a UDP sender that stops by itself and a
// sink that counts what arrives. Both run inside the bench's network
// namespaces; the sender only ever sends to the address it is given.
//
//   secpol_udp_blast send DST PORT SECONDS   sendmmsg bursts from port 41000 for SECONDS; prints packets sent
//   secpol_udp_blast sink PORT SECONDS        counts datagrams until SECONDS pass or the
//                                            sender has been quiet 0.25 s; prints "COUNT SPAN_S"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr unsigned kBatch = 64;          // datagrams per sendmmsg/recvmmsg call
constexpr uint16_t kSourcePort = 41000;  // prog_bench.cpp checks this flow's verdict
// The sink stops once the sender has been quiet this long (its figure spans
// the first to the last datagram, so this is only time every run waits:
// 1 s until the fourteenth session, 0.25 s since, which pays for more rounds).
constexpr double kQuietS = 0.25;

double since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

int send_for(const char* dst, int port, double seconds) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    if (s < 0 || inet_pton(AF_INET, dst, &to.sin_addr) != 1) {
        std::perror("send: socket/address");
        return 1;
    }
    // A fixed source port: the flow the benchmark checks against the policy.
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_port = htons(kSourcePort);
    if (bind(s, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
        std::perror("send: bind");
        return 1;
    }
    if (connect(s, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
        std::perror("send: connect");
        return 1;
    }
    char payload[18] = "secpol-bench";  // minimum Ethernet frame
    iovec iov{payload, sizeof payload};
    std::vector<mmsghdr> msgs(kBatch);
    for (auto& m : msgs) {
        m.msg_hdr = {};
        m.msg_hdr.msg_iov = &iov;
        m.msg_hdr.msg_iovlen = 1;
    }
    unsigned long long sent = 0;
    const auto t0 = Clock::now();
    while (since(t0) < seconds) {
        int n = sendmmsg(s, msgs.data(), kBatch, 0);
        if (n > 0) sent += n;  // ENOBUFS/ECONNREFUSED bursts are simply not counted
    }
    std::printf("%llu\n", sent);
    close(s);
    return 0;
}

int sink_for(int port, double seconds) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    int buf = 8 << 20;
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    timeval tv{0, 200000};  // wake up to check the clock
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in me{};
    me.sin_family = AF_INET;
    me.sin_port = htons(port);
    if (bind(s, reinterpret_cast<sockaddr*>(&me), sizeof me) != 0) {
        std::perror("sink: bind");
        return 1;
    }
    std::printf("ready\n");
    std::fflush(stdout);
    std::vector<char> data(kBatch * 64);
    std::vector<iovec> iov(kBatch);
    std::vector<mmsghdr> msgs(kBatch);
    unsigned long long count = 0;
    Clock::time_point first{}, last{};
    const auto t0 = Clock::now();
    while (since(t0) < seconds) {
        for (unsigned i = 0; i < kBatch; ++i) {
            iov[i] = {&data[i * 64], 64};
            msgs[i].msg_hdr = {};
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(s, msgs.data(), kBatch, MSG_WAITFORONE, nullptr);
        auto now = Clock::now();
        if (n > 0) {
            if (count == 0) first = now;
            count += n;
            last = now;
        } else if (count > 0 && std::chrono::duration<double>(now - last).count() > kQuietS) {
            break;  // the sender has stopped
        }
    }
    std::printf("%llu %.6f\n", count, count ? std::chrono::duration<double>(last - first).count() : 0.0);
    close(s);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 5 && std::strcmp(argv[1], "send") == 0)
        return send_for(argv[2], std::atoi(argv[3]), std::atof(argv[4]));
    if (argc == 4 && std::strcmp(argv[1], "sink") == 0)
        return sink_for(std::atoi(argv[2]), std::atof(argv[3]));
    std::fprintf(stderr, "usage: %s send DST PORT SECONDS | sink PORT SECONDS\n", argv[0]);
    return 2;
}
