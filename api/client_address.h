// Who is on the other end of a request: the peer, or the client a trusted reverse proxy names in
// X-Forwarded-For.
//
// TrustedProxies is the list KEEL_TRUSTED_PROXIES gives: comma-separated IPv4 or IPv6 addresses
// and CIDR blocks. Without it X-Forwarded-For is ignored: anyone can write that header. With it,
// a request whose peer is trusted is from the address X-Forwarded-For names last that is not a
// trusted proxy itself (read from the right: entries on the left are whatever the client sent).
// Pistache keeps the first of repeated header lines, so the proxy must write one
// X-Forwarded-For line (append to it, or replace it), never add a second.
//
// Values; pure.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/error.h"

namespace keel {

class TrustedProxies final {
 public:
  TrustedProxies() = default;
  // kInvalidArgument naming the first entry that is neither an address nor a CIDR block.
  static Result<TrustedProxies> Parse(std::string_view list);

  bool empty() const { return blocks_.empty(); }
  bool Trusts(std::string_view address) const;
  // The client's address, in canonical text ("2001:db8::1", "192.0.2.7"), for a request from
  // `peer` that carried `forwarded_for` (the X-Forwarded-For value, if any).
  std::string ClientAddress(std::string_view peer,
                            std::optional<std::string_view> forwarded_for) const;

 private:
  struct Block {
    std::array<uint8_t, 16> bytes{};  // IPv4 as IPv4-mapped IPv6
    int prefix_bits = 128;
  };
  std::vector<Block> blocks_;
};

// The part of an address that sign-in throttling counts by: an IPv4 address whole, an IPv6
// address's /64 (what one subscriber is usually given, so that rotating through it gains
// nothing). Text that is not an address is returned as it is.
std::string AddressBucket(std::string_view address);

}  // namespace keel
