#include "api/client_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "domain/text.h"

namespace keel {
namespace {

using Bytes = std::array<uint8_t, 16>;

// An address ("192.0.2.7", "2001:db8::1") as IPv6 bytes, IPv4 mapped into ::ffff:0:0/96.
std::optional<Bytes> ParseAddress(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buffer[INET6_ADDRSTRLEN];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  Bytes out{};
  in_addr v4;
  if (inet_pton(AF_INET, buffer, &v4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, buffer, &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

// An address as peers and X-Forwarded-For entries carry it: also "[v6]", "[v6]:port" and
// "v4:port".
std::optional<Bytes> ParseHop(std::string_view text) {
  text = TrimSpace(text);
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    text = text.substr(1, close - 1);
  } else if (const size_t colon = text.find(':');
             colon != std::string_view::npos &&
             text.find(':', colon + 1) == std::string_view::npos) {
    text = text.substr(0, colon);
  }
  return ParseAddress(text);
}

bool IsV4(const Bytes& b) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(b.data(), kMapped, 12) == 0;
}

std::string Format(const Bytes& b) {
  char text[INET6_ADDRSTRLEN];
  if (IsV4(b)) {
    inet_ntop(AF_INET, b.data() + 12, text, sizeof text);
  } else {
    inet_ntop(AF_INET6, b.data(), text, sizeof text);
  }
  return text;
}

bool InPrefix(const Bytes& address, const Bytes& block, int bits) {
  const int whole = bits / 8;
  if (std::memcmp(address.data(), block.data(), static_cast<size_t>(whole)) != 0) return false;
  if (bits % 8 == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - bits % 8));
  return (address[static_cast<size_t>(whole)] & mask) == (block[static_cast<size_t>(whole)] & mask);
}

}  // namespace

Result<TrustedProxies> TrustedProxies::Parse(std::string_view list) {
  TrustedProxies out;
  for (const std::string_view entry : CommaList(list)) {
    auto bad = [&] {
      return Fail(Error::InvalidArgument("KEEL_TRUSTED_PROXIES: '" + std::string(entry) +
                                         "' is neither an address nor a CIDR block"));
    };
    const size_t slash = entry.find('/');
    auto address = ParseAddress(entry.substr(0, slash));
    if (!address) return bad();
    Block block{*address, 128};
    const int width = IsV4(*address) ? 32 : 128;
    if (slash != std::string_view::npos) {
      const std::string_view digits = entry.substr(slash + 1);
      int bits = -1;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
      if (ec != std::errc() || end != digits.data() + digits.size() || bits < 0 || bits > width) {
        return bad();
      }
      block.prefix_bits = bits + (128 - width);
    }
    out.blocks_.push_back(block);
  }
  return out;
}

bool TrustedProxies::Trusts(std::string_view address) const {
  auto bytes = ParseHop(address);
  if (!bytes) return false;
  for (const Block& b : blocks_) {
    if (InPrefix(*bytes, b.bytes, b.prefix_bits)) return true;
  }
  return false;
}

std::string TrustedProxies::ClientAddress(std::string_view peer,
                                          std::optional<std::string_view> forwarded_for) const {
  auto peer_bytes = ParseHop(peer);
  std::string client = peer_bytes ? Format(*peer_bytes) : std::string(peer);
  if (!forwarded_for || !Trusts(peer)) return client;
  std::string_view hops = *forwarded_for;
  while (!hops.empty()) {
    const size_t comma = hops.rfind(',');
    const std::string_view hop = comma == std::string_view::npos ? hops : hops.substr(comma + 1);
    hops = comma == std::string_view::npos ? std::string_view() : hops.substr(0, comma);
    auto bytes = ParseHop(hop);
    if (!bytes) return client;  // unreadable: the client is the nearest hop that could be read
    client = Format(*bytes);
    if (!Trusts(client)) return client;
  }
  return client;  // every hop trusted: the leftmost
}

std::string AddressBucket(std::string_view address) {
  auto bytes = ParseHop(address);
  if (!bytes) return std::string(address);
  if (IsV4(*bytes)) return Format(*bytes);
  std::fill(bytes->begin() + 8, bytes->end(), 0);
  return Format(*bytes) + "/64";
}

}  // namespace keel
