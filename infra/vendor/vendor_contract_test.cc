#include "infra/vendor/vendor_contract.h"

#include <gtest/gtest.h>

#include <optional>

namespace keel::vendor {
namespace {

TEST(VendorContractTest, SignatureMatchesAKnownHmac) {
  // HMAC-SHA256("key", "1700000000.body"), computed with `openssl dgst -sha256 -hmac key`.
  EXPECT_EQ(SignPayload("key", 1700000000, "body"),
            "v1=47b6ce0fca59474308e2921c247cb2493dce6b8101d90ac05bd0c6a37d0e046e");
}

TEST(VendorContractTest, VerifyAcceptsItsOwnSignatureWithinFiveMinutes) {
  const std::string sig = SignPayload("s3cret", 1000, R"({"receipts":[]})");
  EXPECT_TRUE(VerifySignature("s3cret", "1000", sig, R"({"receipts":[]})", 1000));
  EXPECT_TRUE(VerifySignature("s3cret", "1000", sig, R"({"receipts":[]})", 1300));
  EXPECT_TRUE(VerifySignature("s3cret", "1000", sig, R"({"receipts":[]})", 700));
}

TEST(VendorContractTest, VerifyRefusesStaleTamperedMissingAndWrongKey) {
  const std::string body = R"({"receipts":[]})";
  const std::string sig = SignPayload("s3cret", 1000, body);
  auto code = [](const Status& st) { return st ? std::optional<ErrorCode>() : st.error().code; };
  EXPECT_EQ(code(VerifySignature("s3cret", "1000", sig, body, 1301)), ErrorCode::kUnauthenticated);
  EXPECT_EQ(code(VerifySignature("s3cret", "1000", sig, body, 699)), ErrorCode::kUnauthenticated);
  EXPECT_EQ(code(VerifySignature("s3cret", "1000", sig, body + " ", 1000)),
            ErrorCode::kUnauthenticated);
  EXPECT_EQ(code(VerifySignature("other", "1000", sig, body, 1000)), ErrorCode::kUnauthenticated);
  EXPECT_EQ(code(VerifySignature("s3cret", "", sig, body, 1000)), ErrorCode::kUnauthenticated);
  EXPECT_EQ(code(VerifySignature("s3cret", "1000", "", body, 1000)), ErrorCode::kUnauthenticated);
  EXPECT_EQ(code(VerifySignature("s3cret", "10x0", sig, body, 1000)), ErrorCode::kUnauthenticated);
  EXPECT_EQ(code(VerifySignature("s3cret", "1001", sig, body, 1000)), ErrorCode::kUnauthenticated);
}

TEST(VendorContractTest, MessageIds) {
  EXPECT_TRUE(ValidMessageId("c-0195:cust.01_x"));
  EXPECT_FALSE(ValidMessageId(""));
  EXPECT_FALSE(ValidMessageId("a b"));
  EXPECT_FALSE(ValidMessageId(std::string(129, 'a')));
  EXPECT_TRUE(ValidMessageId(std::string(128, 'a')));
}

}  // namespace
}  // namespace keel::vendor
