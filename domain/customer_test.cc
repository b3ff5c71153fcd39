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

TEST(CustomerInputTest, AcceptsTheSeed002Fields) {
  auto r = ParseCustomerInput(
      R"({"name":"Acme","email":"a@acme.io","status":"LEAD","customerType":"COMPANY",)"
      R"("companyName":" Acme Ltd ","firstName":"Ada","lastName":"Lovelace",)"
      R"("birthDate":"1990-02-28","address":"1 Main St\nSpringfield",)"
      R"("referredBy":"0190a5e0-0000-7000-8000-000000000001","tags":[" vip ","b2b","vip"]})",
      CustomerInputMode::kCreate);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, CustomerStatus::kLead);
  EXPECT_EQ(r->customer_type, CustomerType::kCompany);
  EXPECT_EQ(r->company_name, std::optional<std::string>("Acme Ltd"));
  EXPECT_EQ(r->first_name, std::optional<std::string>("Ada"));
  EXPECT_EQ(r->last_name, std::optional<std::string>("Lovelace"));
  EXPECT_EQ(r->birth_date, std::optional<std::string>("1990-02-28"));
  EXPECT_EQ(r->address, std::optional<std::string>("1 Main St\nSpringfield"));
  EXPECT_EQ(r->referred_by, std::optional<std::string>("0190a5e0-0000-7000-8000-000000000001"));
  EXPECT_EQ(r->tags, (std::vector<std::string>{"vip", "b2b"}));  // trimmed, deduplicated
  EXPECT_EQ(r->name, "Acme");                                    // given: not derived
}

TEST(CustomerInputTest, DerivesTheNameFromFirstAndLastName) {
  auto both = ParseCustomerInput(R"({"firstName":" Ada ","lastName":"Lovelace","email":"a@b.io"})",
                                 CustomerInputMode::kCreate);
  ASSERT_TRUE(both) << both.error().message;
  EXPECT_EQ(both->name, "Ada Lovelace");
  auto last = ParseCustomerInput(R"({"lastName":"Lovelace","email":"a@b.io"})",
                                 CustomerInputMode::kReplace);
  ASSERT_TRUE(last) << last.error().message;
  EXPECT_EQ(last->name, "Lovelace");
  // A PATCH derives nothing here: the decide function knows the other half.
  auto patch = ParseCustomerInput(R"({"lastName":"Byron"})", CustomerInputMode::kPatch);
  ASSERT_TRUE(patch) << patch.error().message;
  EXPECT_FALSE(patch->name);
  // Two parts of 50 make a name of 101 characters: refused, naming name.
  const std::string fifty(50, 'x');
  std::string body = R"({"firstName":")";
  body += fifty;
  body += R"(","lastName":")";
  body += fifty;
  body += R"(","email":"a@b.io"})";
  auto errors = Errors(body, CustomerInputMode::kCreate);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "name");
}

TEST(CustomerInputTest, ListsEverySeed002ViolationByField) {
  std::string body = R"({"name":"A","email":"a@b.io","status":"PROSPECT","customerType":"ROBOT",)"
                     R"("companyName":"","firstName":12,"lastName":")";
  body += std::string(51, 'y');
  body += R"(","birthDate":"1899-12-31","address":")";
  body += std::string(501, 'z');
  body += R"(","referredBy":"me","tags":"vip"})";
  auto errors = Errors(body, CustomerInputMode::kCreate);
  std::vector<std::string> fields;
  for (auto& e : errors) fields.push_back(e.field);
  EXPECT_EQ(fields,
            (std::vector<std::string>{"status", "customerType", "companyName", "firstName",
                                      "lastName", "birthDate", "address", "referredBy", "tags"}));
}

TEST(CustomerInputTest, BirthDateMustBeARealDayFrom1900) {
  for (const char* bad : {R"("2023-02-29")", R"("2023-13-01")", R"("1990-1-1")",
                          R"("1990-01-01T00:00:00Z")", R"(19900101)", R"("1899-12-31")"}) {
    std::string body = R"({"birthDate":)";
    body += bad;
    body += "}";
    auto errors = Errors(body, CustomerInputMode::kPatch);
    ASSERT_EQ(errors.size(), 1u) << bad;
    EXPECT_EQ(errors[0].field, "birthDate") << bad;
  }
  for (const char* good : {"1900-01-01", "2024-02-29"}) {
    std::string body = R"({"birthDate":")";
    body += good;
    body += R"("})";
    auto r = ParseCustomerInput(body, CustomerInputMode::kPatch);
    ASSERT_TRUE(r) << good;
    EXPECT_EQ(r->birth_date, std::optional<std::string>(good));
  }
  auto cleared = ParseCustomerInput(R"({"birthDate":null})", CustomerInputMode::kPatch);
  ASSERT_TRUE(cleared);
  EXPECT_EQ(cleared->birth_date,
            std::optional<std::optional<std::string>>(std::optional<std::string>()));
}

TEST(CustomerInputTest, TagsAreShortStringsAndFew) {
  auto errors = Errors(R"({"tags":["ok", 3]})", CustomerInputMode::kPatch);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "tags");
  errors = Errors(R"({"tags":["  "]})", CustomerInputMode::kPatch);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "tags");
  std::string long_tag = R"({"tags":[")";
  long_tag += std::string(51, 't');
  long_tag += R"("]})";
  errors = Errors(long_tag, CustomerInputMode::kPatch);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "tags");
  std::string many = R"({"tags":[)";
  for (int i = 0; i < 21; ++i) {
    many += i ? ",\"t" : "\"t";
    many += std::to_string(i);
    many += "\"";
  }
  many += "]}";
  errors = Errors(many, CustomerInputMode::kPatch);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "tags");
  // Twenty distinct tags, given twice over, are twenty.
  std::string twice = R"({"tags":[)";
  for (int i = 0; i < 40; ++i) {
    twice += i ? ",\"t" : "\"t";
    twice += std::to_string(i % 20);
    twice += "\"";
  }
  twice += "]}";
  auto r = ParseCustomerInput(twice, CustomerInputMode::kPatch);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->tags->size(), 20u);
  auto none = ParseCustomerInput(R"({"tags":[]})", CustomerInputMode::kPatch);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->tags, std::vector<std::string>());
}

TEST(CustomerInputTest, ACompanyNeedsACompanyNameOnCreateAndReplace) {
  for (auto mode : {CustomerInputMode::kCreate, CustomerInputMode::kReplace}) {
    auto errors = Errors(R"({"name":"A","email":"a@b.io","customerType":"COMPANY"})", mode);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0],
              (FieldError{"companyName", "Company name is required when customerType is COMPANY"}));
  }
  EXPECT_TRUE(ParseCustomerInput(R"({"name":"A","email":"a@b.io","customerType":"PERSON"})",
                                 CustomerInputMode::kCreate));
}

TEST(CustomerStatusTest, LegalChanges) {
  using S = CustomerStatus;
  EXPECT_TRUE(IsLegalStatusChange(S::kLead, S::kOpportunity));
  EXPECT_TRUE(IsLegalStatusChange(S::kOpportunity, S::kCustomer));
  EXPECT_TRUE(IsLegalStatusChange(S::kLead, S::kCustomer));
  for (S from : {S::kLead, S::kOpportunity, S::kCustomer}) {
    EXPECT_TRUE(IsLegalStatusChange(from, S::kChurned));
  }
  for (S to : {S::kLead, S::kOpportunity, S::kCustomer}) {
    EXPECT_TRUE(IsLegalStatusChange(S::kChurned, to));
  }
  EXPECT_FALSE(IsLegalStatusChange(S::kCustomer, S::kLead));
  EXPECT_FALSE(IsLegalStatusChange(S::kCustomer, S::kOpportunity));
  EXPECT_FALSE(IsLegalStatusChange(S::kOpportunity, S::kLead));
  for (const char* name : {"LEAD", "OPPORTUNITY", "CUSTOMER", "CHURNED"}) {
    EXPECT_EQ(CustomerStatusName(*ParseCustomerStatus(name)), name);
  }
  EXPECT_FALSE(ParseCustomerStatus("lead"));
}

TEST(ApplyCustomerEventTest, AnOldRegistrationFoldsToTheDefaults) {
  // A CustomerRegistered v2 payload as written before the seed-002 fields.
  Customer c;
  ASSERT_TRUE(ApplyCustomerEvent(
      c, Event("CustomerRegistered", 1,
               R"({"name":"Ada","email":"ada@x.io","phone":null,"totalSpending":0,"visits":0,)"
               R"("lastVisit":null,"isActive":true})",
               1000)));
  EXPECT_EQ(c.status, CustomerStatus::kCustomer);
  EXPECT_EQ(c.customer_type, CustomerType::kPerson);
  EXPECT_EQ(c.details.get(), CustomerDetails{});
  EXPECT_EQ(c.name, "Ada");
  EXPECT_EQ(CurrentSchemaVersion(kCustomerStatusChanged), 1);
  // And the payload of a registration without the new fields is what it was.
  EXPECT_EQ(EncodeCustomerFields(WithDefaults({.name = "Ada", .email = "ada@x.io"})),
            R"({"name":"Ada","email":"ada@x.io","phone":null,"totalSpending":0.00,"visits":0,)"
            R"("lastVisit":null,"isActive":true})");
}

TEST(ApplyCustomerEventTest, FoldsTheSeed002FieldsAndStatusChanges) {
  Customer c;
  CustomerFields f{.name = "Ada", .email = "ada@x.io"};
  f.status = CustomerStatus::kLead;
  f.tags = std::vector<std::string>{"vip"};
  f.birth_date = std::optional<std::string>("1990-01-01");
  ASSERT_TRUE(ApplyCustomerEvent(
      c, Event("CustomerRegistered", 1, EncodeCustomerFields(WithDefaults(f)), 1000)));
  EXPECT_EQ(c.status, CustomerStatus::kLead);
  EXPECT_EQ(c.details.get().tags, std::vector<std::string>{"vip"});
  EXPECT_EQ(c.details.get().birth_date, std::optional<std::string>("1990-01-01"));
  ASSERT_TRUE(ApplyCustomerEvent(
      c, Event("CustomerUpdated", 2, R"({"customerType":"COMPANY","companyName":"Acme"})", 2000)));
  EXPECT_EQ(c.customer_type, CustomerType::kCompany);
  EXPECT_EQ(c.details.get().company_name, std::optional<std::string>("Acme"));
  EXPECT_EQ(c.details.get().tags, std::vector<std::string>{"vip"});  // untouched
  ASSERT_TRUE(ApplyCustomerEvent(
      c, Event("CustomerStatusChanged", 3,
               EncodeStatusChange({CustomerStatus::kLead, CustomerStatus::kCustomer}), 3000)));
  EXPECT_EQ(c.status, CustomerStatus::kCustomer);
  EXPECT_EQ(c.version, 3);
  EXPECT_EQ(*DecodeStatusChange(R"({"from":"LEAD","to":"CUSTOMER"})"),
            (CustomerStatusChange{CustomerStatus::kLead, CustomerStatus::kCustomer}));
  auto bad = ApplyCustomerEvent(c, Event("CustomerStatusChanged", 4, R"({"to":"VIP"})", 4000));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kDataLoss);
  Customer unknown;
  EXPECT_FALSE(ApplyCustomerEvent(
      unknown, Event("CustomerStatusChanged", 1, R"({"from":"LEAD","to":"CUSTOMER"})", 0)));
}

TEST(CustomerJsonTest, RoundTripsTheSeed002FieldsAndReadsOlderRecords) {
  Customer c{
      .id = "id", .name = "N", .email = "e@x.io", .created_at = 1, .updated_at = 2, .version = 3};
  c.status = CustomerStatus::kOpportunity;
  c.customer_type = CustomerType::kCompany;
  c.details.mut() = {.first_name = "A",
                     .last_name = "B",
                     .company_name = "C \"q\"",
                     .birth_date = "2000-01-31",
                     .address = "x\ny",
                     .referred_by = "r",
                     .tags = {"t1", "t2"}};
  auto back = CustomerFromJson(CustomerToJson(c));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, c);
  auto profile = CustomerFromJson(CustomerProfileToJson(c));
  ASSERT_TRUE(profile) << profile.error().message;
  EXPECT_EQ(*profile, c);
  EXPECT_FALSE(ProfileHoldsFigures(CustomerProfileToJson(c)));
  // A profile stored before the seed-002 fields reads with their defaults.
  auto old = CustomerFromJson(
      R"({"id":"id","name":"N","email":"e@x.io","phone":null,"isActive":true,)"
      R"("unsubscribed":false,"ownerId":null,"createdAt":"1970-01-01T00:00:00.001Z",)"
      R"("updatedAt":"1970-01-01T00:00:00.002Z","version":3})");
  ASSERT_TRUE(old) << old.error().message;
  EXPECT_EQ(old->status, CustomerStatus::kCustomer);
  EXPECT_EQ(old->customer_type, CustomerType::kPerson);
  EXPECT_EQ(old->details.get(), CustomerDetails{});
  const std::string served = CustomerToJson(*old);
  EXPECT_NE(served.find(R"("status":"CUSTOMER","customerType":"PERSON","firstName":null)"),
            std::string::npos)
      << served;
  EXPECT_NE(served.find(R"("tags":[])"), std::string::npos) << served;
}

}  // namespace
}  // namespace keel
