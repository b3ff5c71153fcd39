#include "infra/vendor/vendor_contract.h"

#include <sodium.h>

#include <charconv>

namespace keel::vendor {
namespace {

std::string Hex(const unsigned char* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 15];
  }
  return out;
}

}  // namespace

std::string SignPayload(std::string_view secret, int64_t unix_seconds, std::string_view body) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  const std::string stamp = std::to_string(unix_seconds);
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(stamp.data()),
                                stamp.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>("."), 1);
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(body.data()),
                                body.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, mac);
  return "v1=" + Hex(mac, sizeof mac);
}

Status VerifySignature(std::string_view secret, std::string_view timestamp_header,
                       std::string_view signature_header, std::string_view body,
                       int64_t now_unix_seconds) {
  if (timestamp_header.empty() || signature_header.empty()) {
    return Fail(Error::Unauthenticated("The receipt is not signed"));
  }
  int64_t stamp = 0;
  auto [end, ec] = std::from_chars(timestamp_header.data(),
                                   timestamp_header.data() + timestamp_header.size(), stamp);
  if (ec != std::errc() || end != timestamp_header.data() + timestamp_header.size() ||
      timestamp_header.size() > 12) {
    return Fail(Error::Unauthenticated("The receipt's timestamp is malformed"));
  }
  if (stamp < now_unix_seconds - kSignatureToleranceSeconds ||
      stamp > now_unix_seconds + kSignatureToleranceSeconds) {
    return Fail(Error::Unauthenticated("The receipt's timestamp is more than 5 minutes off"));
  }
  const std::string expected = SignPayload(secret, stamp, body);
  if (signature_header.size() != expected.size() ||
      sodium_memcmp(signature_header.data(), expected.data(), expected.size()) != 0) {
    return Fail(Error::Unauthenticated("The receipt's signature does not match"));
  }
  return {};
}

bool ValidMessageId(std::string_view id) {
  if (id.empty() || id.size() > kMaxMessageIdBytes) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == ':' || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace keel::vendor
