// The cryptography of sign-in, on well-kept libraries: Argon2id password hashes and random
// tokens (libsodium), JSON Web Tokens (libjwt: HS256 session tokens, RS256 ID tokens) and RSA
// keys from JWKs (OpenSSL). No third-party types in this header.
//
// Thread-safety: every function may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/error.h"
#include "domain/time.h"

namespace keel::crypto {

// Must succeed once before anything else here is used (libsodium's sodium_init).
Status Init();

// Argon2id, libsodium's "interactive" cost (64 MiB, 2 passes), in its self-describing string.
Result<std::string> HashPassword(std::string_view password);
// Constant time in the password; false for a malformed hash.
bool VerifyPassword(const std::string& hash, std::string_view password);

// `bytes` random bytes as unpadded base64url.
std::string RandomToken(size_t bytes = 32);
// Whether two secrets are equal, in time that depends on their lengths only.
bool SameSecret(std::string_view a, std::string_view b);
// SHA-256 as unpadded base64url (PKCE's S256 code challenge).
std::string Sha256Base64Url(std::string_view data);
// HMAC-SHA-256 of `data` under `key` (any length), base64url without padding (43 characters).
std::string HmacSha256Base64Url(std::string_view key, std::string_view data);
// Unpadded base64url ↔ bytes; nullopt for bad input.
std::optional<std::string> Base64UrlDecode(std::string_view text);
std::string Base64UrlEncode(std::string_view bytes);

// A JWT split into its parts, the header and payload decoded (still JSON text).
struct JwtParts {
  std::string header_json;
  std::string payload_json;
};
// Splits and decodes; kUnauthenticated for anything that is not three base64url parts.
Result<JwtParts> SplitJwt(std::string_view token);

// Signs `claims_json` (a JSON object) with HS256 and `secret`.
Result<std::string> SignHs256(std::string_view claims_json, std::string_view secret);
// Verifies the header says HS256 (never "none" or another algorithm) and the signature;
// returns the payload JSON. Expiry and claims are the caller's.
Result<std::string> VerifyHs256(std::string_view token, std::string_view secret);

// An RSA public key (PEM, SubjectPublicKeyInfo) from a JWK's base64url modulus and exponent.
Result<std::string> RsaPemFromJwk(std::string_view n, std::string_view e);
// Verifies an RS256 signature with a PEM public key; returns the payload JSON.
Result<std::string> VerifyRs256(std::string_view token, const std::string& public_key_pem);
// Signs with RS256 and a PEM private key (tests play the identity provider with it).
Result<std::string> SignRs256(std::string_view header_json, std::string_view claims_json,
                              const std::string& private_key_pem);

}  // namespace keel::crypto
