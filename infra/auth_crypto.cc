#include "infra/auth_crypto.h"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <sodium.h>

#include <cstdlib>
#include <memory>

#include "domain/json_input.h"

namespace keel::crypto {
namespace {

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

Error Refused(std::string why) { return Error::Unauthenticated(std::move(why)); }

// The "alg" of a token's header, or an error when the header is not a JSON object.
Result<std::string> AlgOf(const JwtParts& parts) {
  auto doc = json::Parse(parts.header_json, "Token header", ErrorCode::kUnauthenticated);
  if (!doc) return Fail(Refused("Token header is not JSON"));
  std::string_view alg;
  if ((*doc)["alg"].get(alg)) return Fail(Refused("Token header names no algorithm"));
  return std::string(alg);
}

Result<std::string> Verify(std::string_view token, std::string_view want_alg,
                           const unsigned char* key, size_t key_len) {
  auto parts = SplitJwt(token);
  if (!parts) return Fail(parts.error());
  auto alg = AlgOf(*parts);
  if (!alg) return Fail(alg.error());
  // The algorithm is ours to choose, never the token's: "none" or an HS/RS swap is refused.
  if (*alg != want_alg) return Fail(Refused("Token algorithm " + *alg + " is not accepted"));
  const std::string text(token);
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, text.c_str(), key, static_cast<int>(key_len)) != 0 || raw == nullptr) {
    return Fail(Refused("Token signature is invalid"));
  }
  JwtPtr jwt(raw);
  const jwt_alg_t expect = want_alg == "HS256" ? JWT_ALG_HS256 : JWT_ALG_RS256;
  if (jwt_get_alg(jwt.get()) != expect) return Fail(Refused("Token algorithm is not accepted"));
  return std::move(parts->payload_json);
}

Result<std::string> Sign(std::string_view header_json, std::string_view claims_json, jwt_alg_t alg,
                         std::string_view key) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return Fail(Error::Internal("jwt_new failed"));
  JwtPtr jwt(raw);
  const std::string claims(claims_json);
  if (jwt_add_grants_json(jwt.get(), claims.c_str()) != 0) {
    return Fail(Error::Internal("Token claims are not a JSON object"));
  }
  if (!header_json.empty()) {
    const std::string header(header_json);
    if (jwt_add_headers_json(jwt.get(), header.c_str()) != 0) {
      return Fail(Error::Internal("Token header is not a JSON object"));
    }
  }
  if (jwt_set_alg(jwt.get(), alg, reinterpret_cast<const unsigned char*>(key.data()),
                  static_cast<int>(key.size())) != 0) {
    return Fail(Error::Internal("Token signing key is not usable"));
  }
  char* out = jwt_encode_str(jwt.get());
  if (out == nullptr) return Fail(Error::Internal("Token signing failed"));
  std::string token(out);
  free(out);  // libjwt 1.10 has no jwt_free_str
  return token;
}

}  // namespace

Status Init() {
  if (sodium_init() < 0) return Fail(Error::Internal("libsodium could not initialise"));
  return {};
}

Result<std::string> HashPassword(std::string_view password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Fail(Error::Internal("Password hashing ran out of memory"));
  }
  return std::string(out);
}

bool VerifyPassword(const std::string& hash, std::string_view password) {
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

std::string Base64UrlEncode(std::string_view bytes) {
  const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), variant);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  std::string out(text.size() * 3 / 4 + 3, '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

std::string RandomToken(size_t bytes) {
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  return Base64UrlEncode(raw);
}

bool SameSecret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Sha256Base64Url(std::string_view data) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string HmacSha256Base64Url(std::string_view key, std::string_view data) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()),
                              key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(data.data()),
                                data.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, mac);
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(mac), sizeof mac));
}

Result<JwtParts> SplitJwt(std::string_view token) {
  const size_t a = token.find('.');
  const size_t b = a == std::string_view::npos ? a : token.find('.', a + 1);
  if (b == std::string_view::npos || token.find('.', b + 1) != std::string_view::npos ||
      token.size() > 16384) {
    return Fail(Refused("Token is not a JWT"));
  }
  auto header = Base64UrlDecode(token.substr(0, a));
  auto payload = Base64UrlDecode(token.substr(a + 1, b - a - 1));
  if (!header || !payload) return Fail(Refused("Token is not a JWT"));
  return JwtParts{std::move(*header), std::move(*payload)};
}

Result<std::string> SignHs256(std::string_view claims_json, std::string_view secret) {
  return Sign({}, claims_json, JWT_ALG_HS256, secret);
}

Result<std::string> VerifyHs256(std::string_view token, std::string_view secret) {
  return Verify(token, "HS256", reinterpret_cast<const unsigned char*>(secret.data()),
                secret.size());
}

Result<std::string> VerifyRs256(std::string_view token, const std::string& public_key_pem) {
  return Verify(token, "RS256", reinterpret_cast<const unsigned char*>(public_key_pem.data()),
                public_key_pem.size());
}

Result<std::string> SignRs256(std::string_view header_json, std::string_view claims_json,
                              const std::string& private_key_pem) {
  return Sign(header_json, claims_json, JWT_ALG_RS256, private_key_pem);
}

Result<std::string> RsaPemFromJwk(std::string_view n_b64, std::string_view e_b64) {
  auto n = Base64UrlDecode(n_b64);
  auto e = Base64UrlDecode(e_b64);
  if (!n || !e || n->size() < 256 || n->size() > 1024 || e->empty() || e->size() > 8) {
    return Fail(Error::InvalidArgument("JWK modulus or exponent is not a usable RSA key"));
  }
  auto bn = [](const std::string& bytes) {
    return BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                     static_cast<int>(bytes.size()), nullptr);
  };
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn_n(bn(*n), BN_free), bn_e(bn(*e), BN_free);
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(),
                                                                      OSSL_PARAM_BLD_free);
  if (!bn_n || !bn_e || !bld ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    return Fail(Error::Internal("Could not build an RSA key"));
  }
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(bld.get()),
                                                                 OSSL_PARAM_free);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr), EVP_PKEY_CTX_free);
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
    return Fail(Error::InvalidArgument("JWK is not a usable RSA key"));
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(raw, EVP_PKEY_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) {
    return Fail(Error::Internal("Could not write an RSA key"));
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace keel::crypto
