#include "api/envelope.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

TEST(EnvelopeTest, SuccessCarriesDataAndMeta) {
  EXPECT_EQ(SuccessBody("ok", R"({"a":1})", R"({"total":1})"),
            R"({"success":true,"message":"ok","data":{"a":1},"meta":{"total":1}})");
  EXPECT_EQ(SuccessBody("ok", ""), R"({"success":true,"message":"ok","data":null})");
}

TEST(EnvelopeTest, ValidationErrorsListEveryField) {
  EXPECT_EQ(ErrorBody(Error::Validation({{"name", "Name is required"}, {"x", "Unknown field"}})),
            R"({"success":false,"message":"Validation failed","errors":[)"
            R"({"field":"name","message":"Name is required"},{"field":"x","message":"Unknown field"}]})");
}

TEST(EnvelopeTest, OtherErrorsCarryCodeAndDetails) {
  EXPECT_EQ(ErrorBody(Error::NotFound("Customer x not found")),
            R"({"success":false,"message":"Customer x not found","error":{"code":"NOT_FOUND",)"
            R"("details":"Customer x not found"}})");
}

TEST(EnvelopeTest, StatusesFollowSeed000) {
  EXPECT_EQ(HttpStatusFor(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kAborted), 409);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kPayloadTooLarge), 413);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kInternal), 500);
}

}  // namespace
}  // namespace keel
