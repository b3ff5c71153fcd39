#include "domain/customer.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

std::vector<FieldError> Errors(std::string_view body, CustomerInputMode mode) {
  auto r = ParseCustomerInput(body, mode);
  EXPECT_FALSE(r.has_value()) << body;
  if (r) return {};
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  return r.error().field_errors;
}

TEST(CustomerInputTest, TrimsNameAndLowercasesEmail) {
  auto r = ParseCustomerInput(R"({"name":"  Ada Lovelace ","email":" Ada@Example.COM "})",
                              CustomerInputMode::kCreate);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->name, "Ada Lovelace");
  EXPECT_EQ(r->email, "ada@example.com");
}

TEST(CustomerInputTest, AcceptsEveryField) {
  auto r = ParseCustomerInput(
      R"({"name":"A","email":"a@b.io","phone":"+1 (555) 010-9999","totalSpending":12.5,)"
      R"("visits":3,"lastVisit":"2026-01-02T03:04:05Z","isActive":false})",
      CustomerInputMode::kCreate);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->phone, std::optional<std::string>("+1 (555) 010-9999"));
  EXPECT_EQ(r->total_spending_cents, 1250);
  EXPECT_EQ(r->visits, 3);
  EXPECT_EQ(r->last_visit, std::optional<Millis>(ParseIso8601("2026-01-02T03:04:05Z")));
  EXPECT_EQ(r->is_active, false);
}

TEST(CustomerInputTest, ListsEveryViolationByField) {
  auto errors = Errors(
      R"({"name":"","email":"nope","phone":"abc","totalSpending":-1,"visits":1.5,)"
      R"("lastVisit":"yesterday","isActive":"yes","colour":"red"})",
      CustomerInputMode::kCreate);
  std::vector<std::string> fields;
  for (auto& e : errors) fields.push_back(e.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"name", "email", "phone", "totalSpending", "visits",
                                              "lastVisit", "isActive", "colour"}));
  EXPECT_EQ(errors.back().message, "Unknown field");
}

TEST(CustomerInputTest, RequiresNameAndEmailOnCreateAndReplace) {
  for (auto mode : {CustomerInputMode::kCreate, CustomerInputMode::kReplace}) {
    auto errors = Errors("{}", mode);
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0], (FieldError{"name", "Name is required"}));
    EXPECT_EQ(errors[1], (FieldError{"email", "Email is required"}));
  }
}

TEST(CustomerInputTest, PatchNeedsAtLeastOneField) {
  auto errors = Errors("{}", CustomerInputMode::kPatch);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "body");
  EXPECT_TRUE(ParseCustomerInput(R"({"visits":2})", CustomerInputMode::kPatch));
}

TEST(CustomerInputTest, RefusesNonObjectsAndMalformedJson) {
  for (const char* body : {"[]", "\"x\"", "12", "null", "{", "{\"name\":}", "", "\xff\xfe"}) {
    auto r = ParseCustomerInput(body, CustomerInputMode::kCreate);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(CustomerInputTest, NameLengthCountsCharactersNotBytes) {
  std::string name;
  for (int i = 0; i < 100; ++i) name += "\xc3\xa9";  // 100 × é, 200 bytes
  EXPECT_TRUE(ParseCustomerInput(R"({"name":")" + name + R"(","email":"a@b.io"})",
                                 CustomerInputMode::kCreate));
  name += "e";
  EXPECT_FALSE(ParseCustomerInput(R"({"name":")" + name + R"(","email":"a@b.io"})",
                                  CustomerInputMode::kCreate));
}

TEST(CustomerInputTest, EmailRules) {
  for (const char* ok : {"a@b.io", "first.last+tag@sub.example.org", "x_y@a-b.co"}) {
    EXPECT_TRUE(ParseCustomerInput(std::string(R"({"name":"n","email":")") + ok + "\"}",
                                   CustomerInputMode::kCreate))
        << ok;
  }
  for (const char* bad : {"a@b", "@b.io", "a@.io", "a b@c.io", "a@@b.io", "a@b.c", ".a@b.io",
                          "a..b@c.io", "a@-b.io"}) {
    EXPECT_FALSE(ParseCustomerInput(std::string(R"({"name":"n","email":")") + bad + "\"}",
                                    CustomerInputMode::kCreate))
        << bad;
  }
}

TEST(CustomerInputTest, AmountsWithMoreThanTwoDecimalsAreRefused) {
  auto errors = Errors(R"({"totalSpending":1.001})", CustomerInputMode::kPatch);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "totalSpending");
}

TEST(CustomerInputTest, TotalSpendingIsWholeCentsAtAnyMagnitude) {
  for (const char* bad : {"12345.678", "999999999.999", "0.001"}) {
    auto errors =
        Errors(std::string(R"({"totalSpending":)") + bad + "}", CustomerInputMode::kPatch);
    ASSERT_EQ(errors.size(), 1u) << bad;
    EXPECT_EQ(errors[0],
              (FieldError{"totalSpending", "Amount must have at most two decimal places"}));
  }
  auto errors = Errors(R"({"totalSpending":1e300})", CustomerInputMode::kPatch);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], (FieldError{"totalSpending", "Must be between 0 and 1000000000000"}));
  auto ok = ParseCustomerInput(R"({"totalSpending":999999999999.99})", CustomerInputMode::kPatch);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->total_spending_cents, 99999999999999);
}

// Whatever the input accepts, the event codec writes back and the fold reads.
TEST(CustomerInputTest, LastVisitIsRefusedOutsideYearsOneTo9999) {
  for (const char* date :
       {"0000-01-01T00:00:00+00:01", "0001-01-01T00:00:00+00:01", "9999-12-31T23:00:00-01:00"}) {
    auto errors =
        Errors(std::string(R"({"lastVisit":")") + date + "\"}", CustomerInputMode::kPatch);
    ASSERT_EQ(errors.size(), 1u) << date;
    EXPECT_EQ(errors[0].field, "lastVisit") << date;
  }
  for (const char* date : {"0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z",
                           "0001-01-01T00:30:00+00:30", "9999-12-31T22:00:00-01:59"}) {
    auto fields = ParseCustomerInput(std::string(R"({"lastVisit":")") + date + "\"}",
                                     CustomerInputMode::kPatch);
    ASSERT_TRUE(fields) << date << ": " << fields.error().message;
    auto decoded = DecodeCustomerFields(EncodeCustomerFields(*fields));
    ASSERT_TRUE(decoded) << date << ": " << decoded.error().message;
    EXPECT_EQ(decoded->last_visit, fields->last_visit) << date;
  }
}

EventEnvelope Event(std::string type, int64_t version, std::string payload, Millis at) {
  EventEnvelope e;
  e.event_id = "e" + std::to_string(version);
  e.type = std::move(type);
  e.schema_version = CurrentSchemaVersion(e.type);
  e.aggregate_type = "customer";
  e.aggregate_id = "c1";
  e.aggregate_version = version;
  e.occurred_at = e.recorded_at = at;
  e.payload = std::move(payload);
  return e;
}

TEST(ApplyCustomerEventTest, FoldsRegisterUpdateDeactivate) {
  Customer c;
  ASSERT_TRUE(ApplyCustomerEvent(
      c, Event("CustomerRegistered", 1,
               EncodeCustomerFields(WithDefaults({.name = "Ada", .email = "ada@x.io"})), 1000)));
  EXPECT_EQ(c.id, "c1");
  EXPECT_EQ(c.created_at, 1000);
  EXPECT_TRUE(c.is_active);
  ASSERT_TRUE(ApplyCustomerEvent(c, Event("CustomerUpdated", 2, R"({"visits":4})", 2000)));
  EXPECT_EQ(c.visits, 4);
  EXPECT_EQ(c.name, "Ada");
  EXPECT_EQ(c.updated_at, 2000);
  ASSERT_TRUE(ApplyCustomerEvent(c, Event("CustomerDeactivated", 3, "{}", 3000)));
  EXPECT_FALSE(c.is_active);
  EXPECT_EQ(c.version, 3);
  EXPECT_FALSE(c.unsubscribed);
  ASSERT_TRUE(ApplyCustomerEvent(c, Event("CustomerUnsubscribed", 4, "{}", 4000)));
  EXPECT_TRUE(c.unsubscribed);
  ASSERT_TRUE(ApplyCustomerEvent(c, Event("CustomerResubscribed", 5, "{}", 5000)));
  EXPECT_FALSE(c.unsubscribed);
  EXPECT_EQ(c.version, 5);
}

TEST(ApplyCustomerEventTest, ASubscriptionChangeOfAnUnknownCustomerIsDataLoss) {
  Customer c;
  auto r = ApplyCustomerEvent(c, Event("CustomerUnsubscribed", 1, "{}", 0));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
}

TEST(ApplyCustomerEventTest, RefusesVersionGapsAndDuplicates) {
  Customer c;
  auto r = ApplyCustomerEvent(c, Event("CustomerUpdated", 2, R"({"visits":4})", 0));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  ASSERT_TRUE(ApplyCustomerEvent(
      c, Event("CustomerRegistered", 1, R"({"name":"A","email":"a@b.io"})", 0)));
  EXPECT_FALSE(ApplyCustomerEvent(
      c, Event("CustomerRegistered", 1, R"({"name":"A","email":"a@b.io"})", 0)));
}

TEST(CustomerJsonTest, RoundTrips) {
  Customer c{.id = "id",
             .name = "N \"q\"",
             .email = "e@x.io",
             .phone = "+1 2",
             .total_spending_cents = 123456,
             .visits = 7,
             .last_visit = 1700000000000,
             .is_active = false,
             .unsubscribed = true,
             .created_at = 1,
             .updated_at = 2,
             .version = 9};
  auto back = CustomerFromJson(CustomerToJson(c));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, c);
  c.phone.reset();
  c.last_visit.reset();
  EXPECT_EQ(*CustomerFromJson(CustomerToJson(c)), c);
  // A record written before subscriptions existed reads as subscribed.
  std::string old = CustomerToJson(c);
  const size_t at = old.find(R"("unsubscribed":true,)");
  ASSERT_NE(at, std::string::npos) << old;
  old.erase(at, std::string_view(R"("unsubscribed":true,)").size());
  auto read = CustomerFromJson(old);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_FALSE(read->unsubscribed);
}

}  // namespace
}  // namespace keel
