#include "infra/vendor/vendor_contract.h"

#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <optional>

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

namespace {

// The timestamp header's seconds, or nullopt when it is not a plain decimal of at most 12 digits.
std::optional<int64_t> ParseStamp(std::string_view header) {
  int64_t stamp = 0;
  auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), stamp);
  if (ec != std::errc() || end != header.data() + header.size() || header.size() > 12) {
    return std::nullopt;
  }
  return stamp;
}

// What CheckSignatureHeaders checks; the timestamp's seconds when they pass.
Result<int64_t> CheckedStamp(std::string_view timestamp_header, std::string_view signature_header,
                             int64_t now_unix_seconds) {
  if (timestamp_header.empty() || signature_header.empty()) {
    return Fail(Error::Unauthenticated("The receipt is not signed"));
  }
  const auto stamp = ParseStamp(timestamp_header);
  if (!stamp) return Fail(Error::Unauthenticated("The receipt's timestamp is malformed"));
  if (*stamp < now_unix_seconds - kSignatureToleranceSeconds ||
      *stamp > now_unix_seconds + kSignatureToleranceSeconds) {
    return Fail(Error::Unauthenticated("The receipt's timestamp is more than 5 minutes off"));
  }
  constexpr std::string_view kScheme = "v1=";
  constexpr size_t kHexDigits = 2 * crypto_auth_hmacsha256_BYTES;
  const bool shaped =
      signature_header.size() == kScheme.size() + kHexDigits &&
      signature_header.starts_with(kScheme) &&
      std::all_of(signature_header.begin() + kScheme.size(), signature_header.end(),
                  [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  if (!shaped) return Fail(Error::Unauthenticated("The receipt's signature is malformed"));
  return *stamp;
}

}  // namespace

Status CheckSignatureHeaders(std::string_view timestamp_header, std::string_view signature_header,
                             int64_t now_unix_seconds) {
  auto stamp = CheckedStamp(timestamp_header, signature_header, now_unix_seconds);
  if (!stamp) return Fail(stamp.error());
  return {};
}

Status VerifySignature(std::string_view secret, std::string_view timestamp_header,
                       std::string_view signature_header, std::string_view body,
                       int64_t now_unix_seconds) {
  auto stamp = CheckedStamp(timestamp_header, signature_header, now_unix_seconds);
  if (!stamp) return Fail(stamp.error());
  const std::string expected = SignPayload(secret, *stamp, body);
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
