#include "pcapng.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace secpol::rt {
namespace {

constexpr uint32_t kSectionHeader = 0x0A0D0D0A, kInterface = 1, kObsoletePacket = 2, kSimplePacket = 3,
                   kEnhancedPacket = 6, kByteOrderMagic = 0x1A2B3C4D;
// pcapng names link types by LINKTYPE_ value; the only one replay reads whose
// DLT_ value differs is raw IP.
constexpr uint16_t kLinktypeRaw = 101;

struct Interface {
    int dlt;
    uint32_t snaplen;
};

class Reader {
  public:
    Reader(const std::string& bytes, const std::string& path) : b_(bytes), path_(path) {}

    Result<std::vector<Packet>> run() {
        std::vector<Packet> out;
        size_t off = 0;
        while (off < b_.size()) {
            if (b_.size() - off < 12) return corrupt(off, "truncated block header");
            uint32_t type = u32(off);
            if (type == kSectionHeader) {
                // The byte order magic decides how this section's numbers read.
                uint32_t magic;
                std::memcpy(&magic, b_.data() + off + 8, 4);
                if (magic != kByteOrderMagic && __builtin_bswap32(magic) != kByteOrderMagic)
                    return corrupt(off, "bad byte order magic");
                swap_ = magic != kByteOrderMagic;
                ifaces_.clear();
            }
            const uint32_t len = u32(off + 4);
            if (len < 12 || len % 4 || len > b_.size() - off) return corrupt(off, "bad block length");
            if (type == kInterface) {
                if (len < 20) return corrupt(off, "short interface block");
                uint16_t lt = u16(off + 8);
                int dlt = lt == kLinktypeRaw ? link::kRaw : lt;
                if (!replayable_link(dlt))
                    return Error::msg(path_ + ": interface " + std::to_string(ifaces_.size()) +
                                      " has link type " + std::to_string(lt) + ", which replay cannot read");
                ifaces_.push_back({dlt, u32(off + 12)});
            } else if (type == kEnhancedPacket || type == kObsoletePacket) {
                if (len < 32) return corrupt(off, "short packet block");
                uint32_t id = type == kEnhancedPacket ? u32(off + 8) : u16(off + 8);
                uint32_t caplen = u32(off + 20);
                if (caplen > len - 32) return corrupt(off, "captured length past the block");
                if (id >= ifaces_.size()) return corrupt(off, "packet of an undeclared interface");
                out.push_back(to_ethernet(ifaces_[id].dlt, data(off + 28), caplen));
            } else if (type == kSimplePacket) {
                if (len < 16) return corrupt(off, "short simple packet block");
                if (ifaces_.empty()) return corrupt(off, "packet of an undeclared interface");
                uint32_t caplen = std::min(u32(off + 8), len - 16);
                if (ifaces_[0].snaplen) caplen = std::min(caplen, ifaces_[0].snaplen);
                out.push_back(to_ethernet(ifaces_[0].dlt, data(off + 12), caplen));
            }
            off += len;
        }
        return out;
    }

  private:
    const uint8_t* data(size_t off) const { return reinterpret_cast<const uint8_t*>(b_.data() + off); }
    uint32_t u32(size_t off) const {
        uint32_t v;
        std::memcpy(&v, b_.data() + off, 4);
        return swap_ ? __builtin_bswap32(v) : v;
    }
    uint16_t u16(size_t off) const {
        uint16_t v;
        std::memcpy(&v, b_.data() + off, 2);
        return swap_ ? __builtin_bswap16(v) : v;
    }
    Error corrupt(size_t off, const char* what) const {
        return Error::msg(path_ + ": not a readable pcapng: " + what + " at byte " + std::to_string(off));
    }

    const std::string& b_;
    const std::string& path_;
    bool swap_ = false;
    std::vector<Interface> ifaces_;
};

}  // namespace

Result<std::vector<Packet>> read_pcapng_interfaces(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error::msg(path + ": cannot open");
    std::ostringstream ss;
    ss << in.rdbuf();
    const std::string bytes = ss.str();
    uint32_t first = 0;
    if (bytes.size() >= 4) std::memcpy(&first, bytes.data(), 4);
    if (first != kSectionHeader) return Error::msg(path + ": not a pcapng file");
    return Reader(bytes, path).run();
}

}  // namespace secpol::rt
