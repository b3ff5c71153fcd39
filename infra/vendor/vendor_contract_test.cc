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

// What can be judged before the body: presence, the timestamp's form and window, and the
// signature's form (not its value).
TEST(VendorContractTest, HeadersAreJudgedBeforeTheBody) {
  const std::string sig = SignPayload("s3cret", 1000, "any body");
  auto code = [](const Status& st) { return st ? std::optional<ErrorCode>() : st.error().code; };
  EXPECT_TRUE(CheckSignatureHeaders("1000", sig, 1000));
  EXPECT_TRUE(CheckSignatureHeaders("1000", SignPayload("other", 1000, ""), 1300));
  EXPECT_EQ(code(CheckSignatureHeaders("1000", sig, 1301)), ErrorCode::kUnauthenticated);
  EXPECT_EQ(code(CheckSignatureHeaders("", sig, 1000)), ErrorCode::kUnauthenticated);
  EXPECT_EQ(code(CheckSignatureHeaders("1000", "", 1000)), ErrorCode::kUnauthenticated);
  EXPECT_EQ(code(CheckSignatureHeaders("1e3", sig, 1000)), ErrorCode::kUnauthenticated);
  EXPECT_EQ(code(CheckSignatureHeaders("1000", sig.substr(1), 1000)), ErrorCode::kUnauthenticated);
  EXPECT_EQ(code(CheckSignatureHeaders("1000", sig + "0", 1000)), ErrorCode::kUnauthenticated);
  std::string upper = sig;
  upper.back() = 'A';
  EXPECT_EQ(code(CheckSignatureHeaders("1000", upper, 1000)), ErrorCode::kUnauthenticated);
  EXPECT_EQ(code(CheckSignatureHeaders("1000", "v2=" + sig.substr(3), 1000)),
            ErrorCode::kUnauthenticated);
  EXPECT_NE(CheckSignatureHeaders("1000", "v1=zz", 1000).error().message.find("malformed"),
            std::string::npos);
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
