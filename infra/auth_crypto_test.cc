#include "infra/auth_crypto.h"

#include <gtest/gtest.h>

#include "tests/rsa_test_key.h"

namespace keel::crypto {
namespace {

class AuthCryptoTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(Init()); }
};

TEST_F(AuthCryptoTest, PasswordHashIsArgon2idAndVerifies) {
  auto hash = HashPassword("correct horse");
  ASSERT_TRUE(hash);
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u) << *hash;
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horsE"));
  EXPECT_FALSE(VerifyPassword("", "x"));
  EXPECT_FALSE(VerifyPassword("$argon2id$garbage", "x"));
  auto again = HashPassword("correct horse");
  EXPECT_NE(*hash, *again);  // salted
}

TEST_F(AuthCryptoTest, SameSecretComparesWholeValues) {
  EXPECT_TRUE(SameSecret("state-1", "state-1"));
  EXPECT_FALSE(SameSecret("state-1", "state-2"));
  EXPECT_FALSE(SameSecret("state-1", "state-10"));
  EXPECT_FALSE(SameSecret("", "x"));
  EXPECT_TRUE(SameSecret("", ""));
}

TEST_F(AuthCryptoTest, Base64UrlRoundTripsAndRefusesJunk) {
  const std::string bytes("\x00\xff\xfe?>", 5);
  EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(bytes)), bytes);
  EXPECT_FALSE(Base64UrlDecode("a+b/"));
  EXPECT_FALSE(Base64UrlDecode("ab=="));
  EXPECT_EQ(RandomToken(32).size(), 43u);
  EXPECT_NE(RandomToken(), RandomToken());
  // RFC 7636 appendix B.
  EXPECT_EQ(Sha256Base64Url("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  // The classic HMAC-SHA-256 example ("key", the quick brown fox), base64url.
  EXPECT_EQ(HmacSha256Base64Url("key", "The quick brown fox jumps over the lazy dog"),
            "97yD9DBThCSxMpjmqm-xQ-9NWaFJRhdZl0edvC0aPNg");
}

TEST_F(AuthCryptoTest, Hs256SignsAndVerifies) {
  auto token = SignHs256(R"({"sub":"u1","exp":99})", "secret-1");
  ASSERT_TRUE(token);
  auto payload = VerifyHs256(*token, "secret-1");
  ASSERT_TRUE(payload) << payload.error().message;
  EXPECT_NE(payload->find(R"("sub":"u1")"), std::string::npos);

  auto wrong_key = VerifyHs256(*token, "secret-2");
  ASSERT_FALSE(wrong_key);
  EXPECT_EQ(wrong_key.error().code, ErrorCode::kUnauthenticated);

  std::string tampered = *token;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(VerifyHs256(tampered, "secret-1"));
}

TEST_F(AuthCryptoTest, AlgNoneAndForeignAlgorithmsAreRefused) {
  const std::string none = Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." +
                           Base64UrlEncode(R"({"sub":"u1"})") + ".";
  auto r = VerifyHs256(none, "secret-1");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("none"), std::string::npos) << r.error().message;

  auto parts = SplitJwt(*SignHs256(R"({"sub":"u1"})", "k"));
  ASSERT_TRUE(parts);
  EXPECT_FALSE(VerifyRs256(*SignHs256(R"({"sub":"u1"})", "k"), "not a key"));
  EXPECT_FALSE(SplitJwt("a.b"));
  EXPECT_FALSE(SplitJwt("a.b.c.d"));
  EXPECT_FALSE(VerifyHs256("", "k"));
}

TEST_F(AuthCryptoTest, Rs256WithAKeyFromItsJwk) {
  const auto key = keel::testing::GenerateRsaTestKey();
  auto token = SignRs256(R"({"kid":"k1"})", R"({"iss":"me","sub":"42"})", key.private_pem);
  ASSERT_TRUE(token) << token.error().message;
  auto pem = RsaPemFromJwk(key.n, key.e);
  ASSERT_TRUE(pem) << pem.error().message;
  auto payload = VerifyRs256(*token, *pem);
  ASSERT_TRUE(payload) << payload.error().message;
  EXPECT_NE(payload->find(R"("sub":"42")"), std::string::npos);

  const auto other = keel::testing::GenerateRsaTestKey();
  EXPECT_FALSE(VerifyRs256(*token, *RsaPemFromJwk(other.n, other.e)));
  EXPECT_FALSE(VerifyHs256(*token, *pem));  // an RS256 token is no HS256 token
  EXPECT_FALSE(RsaPemFromJwk("AQAB", "AQAB"));
}

}  // namespace
}  // namespace keel::crypto
