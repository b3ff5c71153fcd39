// A fresh RSA key for tests that play an identity provider: the private key in PEM, and the
// public modulus and exponent as a JWK carries them (unpadded base64url). OpenSSL.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "infra/auth_crypto.h"

namespace keel::testing {

struct RsaTestKey {
  std::string private_pem;
  std::string n;  // base64url
  std::string e;  // base64url
};

inline RsaTestKey GenerateRsaTestKey() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_RSA_gen(2048), EVP_PKEY_free);
  if (!key) throw std::runtime_error("EVP_RSA_gen failed");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  RsaTestKey out;
  out.private_pem.assign(data, static_cast<size_t>(len));
  auto component = [&](const char* name) {
    BIGNUM* bn = nullptr;
    EVP_PKEY_get_bn_param(key.get(), name, &bn);
    std::string bytes(static_cast<size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
    BN_free(bn);
    return crypto::Base64UrlEncode(bytes);
  };
  out.n = component(OSSL_PKEY_PARAM_RSA_N);
  out.e = component(OSSL_PKEY_PARAM_RSA_E);
  return out;
}

}  // namespace keel::testing
