#include "commands/customer_commands.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

class FixedClock final : public Clock {
 public:
  Millis NowMillis() override { return 1'700'000'000'000; }
};

class CustomerCommandsTest : public ::testing::Test {
 protected:
  CommandMeta Meta() { return {.now = 1000, .actor = "tester", .correlation_id = "req"}; }

  // Decides and folds, as the command service does.
  Result<std::vector<EventEnvelope>> Run(Result<std::vector<EventEnvelope>> events) {
    if (events) {
      for (auto& e : *events) EXPECT_TRUE(state_.Apply(e));
    }
    return events;
  }
  std::string Register(const std::string& id, const std::string& email) {
    auto r = Run(DecideRegister(state_, {id, {.name = "N", .email = email}}, Meta(), ids_));
    EXPECT_TRUE(r) << r.error().message;
    return id;
  }

  FixedClock clock_;
  UuidV7Generator ids_{clock_, 42};
  CustomerWriteModel state_;
};

TEST_F(CustomerCommandsTest, RegisterEmitsOneEventWithDefaultsAndMeta) {
  auto events = DecideRegister(state_, {"c1", {.name = "Ada", .email = "ada@x.io"}}, Meta(), ids_);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 1u);
  const auto& e = (*events)[0];
  EXPECT_EQ(e.type, kCustomerRegistered);
  EXPECT_EQ(e.aggregate_id, "c1");
  EXPECT_EQ(e.aggregate_version, 1);
  EXPECT_EQ(e.actor, "tester");
  EXPECT_EQ(e.correlation_id, "req");
  EXPECT_EQ(e.occurred_at, 1000);
  EXPECT_EQ(*DecodeCustomerFields(e.payload), WithDefaults({.name = "Ada", .email = "ada@x.io"}));
}

TEST_F(CustomerCommandsTest, DuplicateEmailIsAlreadyExists) {
  Register("c1", "a@x.io");
  auto r = DecideRegister(state_, {"c2", {.name = "B", .email = "a@x.io"}}, Meta(), ids_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kAlreadyExists);
}

TEST_F(CustomerCommandsTest, EmailOfADeactivatedCustomerStaysTaken) {
  Register("c1", "a@x.io");
  ASSERT_TRUE(Run(DecideDeactivate(state_, {"c1", std::nullopt}, Meta(), ids_)));
  auto r = DecideRegister(state_, {"c2", {.name = "B", .email = "a@x.io"}}, Meta(), ids_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kAlreadyExists);
}

TEST_F(CustomerCommandsTest, UpdateCarriesOnlyTheChangedFields) {
  Register("c1", "a@x.io");
  auto r = DecideUpdate(state_, {"c1", {.name = "N", .visits = 3}, false, std::nullopt}, Meta(), ids_);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].payload, R"({"visits":3})");
  EXPECT_EQ((*r)[0].aggregate_version, 2);
}

TEST_F(CustomerCommandsTest, UpdateThatChangesNothingAppendsNothing) {
  Register("c1", "a@x.io");
  auto r = DecideUpdate(state_, {"c1", {.name = "N"}, false, std::nullopt}, Meta(), ids_);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
}

TEST_F(CustomerCommandsTest, ReplaceResetsAbsentOptionalFields) {
  Register("c1", "a@x.io");
  ASSERT_TRUE(Run(DecideUpdate(state_, {"c1", {.visits = 5}, false, std::nullopt}, Meta(), ids_)));
  auto r = DecideUpdate(state_, {"c1", {.name = "N", .email = "a@x.io"}, true, std::nullopt},
                        Meta(), ids_);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].payload, R"({"visits":0})");
}

TEST_F(CustomerCommandsTest, StaleExpectedVersionIsAborted) {
  Register("c1", "a@x.io");
  auto r = DecideUpdate(state_, {"c1", {.visits = 1}, false, 7}, Meta(), ids_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kAborted);
  EXPECT_TRUE(DecideUpdate(state_, {"c1", {.visits = 1}, false, 1}, Meta(), ids_));
}

TEST_F(CustomerCommandsTest, ChangingEmailToATakenOneIsRefusedAndFreesTheOldOne) {
  Register("c1", "a@x.io");
  Register("c2", "b@x.io");
  auto taken = DecideUpdate(state_, {"c2", {.email = "a@x.io"}, false, std::nullopt}, Meta(), ids_);
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, ErrorCode::kAlreadyExists);
  ASSERT_TRUE(Run(DecideUpdate(state_, {"c2", {.email = "c@x.io"}, false, std::nullopt}, Meta(), ids_)));
  EXPECT_EQ(state_.OwnerOfEmail("b@x.io"), nullptr);
  ASSERT_NE(state_.OwnerOfEmail("c@x.io"), nullptr);
  EXPECT_EQ(*state_.OwnerOfEmail("c@x.io"), "c2");
  EXPECT_EQ(state_.FindByEmail("c@x.io"), state_.Find("c2"));
  EXPECT_EQ(state_.FindByEmail("a@x.io"), state_.Find("c1"));
  EXPECT_EQ(state_.FindByEmail("b@x.io"), nullptr);
  // Many more customers (the maps grow and rehash): the index still finds the same entries.
  for (int i = 0; i < 2000; ++i) {
    const std::string n = std::to_string(i);
    std::string id = "n", email = n;
    id.append(n);
    email.append("@x.io");
    Register(id, email);
  }
  EXPECT_EQ(state_.FindByEmail("c@x.io"), state_.Find("c2"));
  EXPECT_EQ(state_.FindByEmail("c@x.io")->email, "c@x.io");
  EXPECT_EQ(state_.FindByEmail("1999@x.io"), state_.Find("n1999"));
}

TEST_F(CustomerCommandsTest, AFoldInAnyPartitionOrderKeepsTheEmailWithItsHolder) {
  // Decided in this order: a registers x, a moves to y, b registers x (freed).
  std::vector<EventEnvelope> events;
  auto a = DecideRegister(state_, {"a", {.name = "A", .email = "x@x.io"}}, Meta(), ids_);
  ASSERT_TRUE(a);
  for (auto& e : *a) {
    ASSERT_TRUE(state_.Apply(e));
    events.push_back(e);
  }
  auto moved = DecideUpdate(state_, {"a", {.email = "y@x.io"}, false, std::nullopt}, Meta(), ids_);
  ASSERT_TRUE(moved);
  for (auto& e : *moved) {
    ASSERT_TRUE(state_.Apply(e));
    events.push_back(e);
  }
  auto b = DecideRegister(state_, {"b", {.name = "B", .email = "x@x.io"}}, Meta(), ids_);
  ASSERT_TRUE(b) << b.error().message;
  for (auto& e : *b) events.push_back(e);
  // Folded from the log with b's partition read first: a's later move released x after b took
  // it, and the repair after the fold gives x back to b.
  CustomerWriteModel folded;
  for (size_t i : {events.size() - 1, size_t{0}, size_t{1}}) ASSERT_TRUE(folded.Apply(events[i]));
  folded.RepairEmailIndex();
  ASSERT_NE(folded.OwnerOfEmail("x@x.io"), nullptr);
  EXPECT_EQ(*folded.OwnerOfEmail("x@x.io"), "b");
  ASSERT_NE(folded.OwnerOfEmail("y@x.io"), nullptr);
  EXPECT_EQ(*folded.OwnerOfEmail("y@x.io"), "a");
  auto again = DecideRegister(folded, {"c", {.name = "C", .email = "x@x.io"}}, Meta(), ids_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
}

TEST_F(CustomerCommandsTest, AnEmailHeldTwiceInAnImportedLogGoesToTheOneUpdatedLast) {
  // Two logs merged: each registered x on its own, "z" later than "a".
  CustomerWriteModel first, second;
  CommandMeta later = Meta();
  later.now += 5000;
  auto a = DecideRegister(first, {"z", {.name = "Z", .email = "x@x.io"}}, later, ids_);
  auto b = DecideRegister(second, {"a", {.name = "A", .email = "x@x.io"}}, Meta(), ids_);
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  for (bool z_first : {true, false}) {
    CustomerWriteModel folded;
    for (const auto& e : z_first ? *a : *b) ASSERT_TRUE(folded.Apply(e));
    for (const auto& e : z_first ? *b : *a) ASSERT_TRUE(folded.Apply(e));
    folded.RepairEmailIndex();
    ASSERT_NE(folded.OwnerOfEmail("x@x.io"), nullptr);
    EXPECT_EQ(*folded.OwnerOfEmail("x@x.io"), "z") << z_first;
  }
}

TEST_F(CustomerCommandsTest, SubscriptionChangesOnlyWhenItDiffers) {
  Register("c1", "ann@x.io");
  auto first = Run(DecideChangeSubscription(state_, {"c1", true}, Meta(), ids_));
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].type, kCustomerUnsubscribed);
  EXPECT_EQ((*first)[0].aggregate_version, 2);
  EXPECT_TRUE(state_.Find("c1")->unsubscribed);
  auto again = DecideChangeSubscription(state_, {"c1", true}, Meta(), ids_);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  auto back = Run(DecideChangeSubscription(state_, {"c1", false}, Meta(), ids_));
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].type, kCustomerResubscribed);
  EXPECT_FALSE(state_.Find("c1")->unsubscribed);
  auto unknown = DecideChangeSubscription(state_, {"nope", true}, Meta(), ids_);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST_F(CustomerCommandsTest, UnknownCustomerIsNotFound) {
  auto r = DecideDeactivate(state_, {"nope", std::nullopt}, Meta(), ids_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

TEST_F(CustomerCommandsTest, DeactivatingTwiceAppendsOnce) {
  Register("c1", "a@x.io");
  auto first = Run(DecideDeactivate(state_, {"c1", std::nullopt}, Meta(), ids_));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->size(), 1u);
  auto second = DecideDeactivate(state_, {"c1", std::nullopt}, Meta(), ids_);
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->empty());
}

// Seed 002: the fields whose rules need the state.

// A referrer: referredBy names customers by their (UUID) ids.
constexpr const char* kReferrer = "0190a5e0-0000-7000-8000-000000000001";

CustomerFields WithStatus(CustomerStatus status) {
  CustomerFields f;
  f.status = status;
  return f;
}

TEST_F(CustomerCommandsTest, AStatusChangeIsItsOwnEventAfterTheOtherFields) {
  CustomerFields lead{.name = "N", .email = "a@x.io"};
  lead.status = CustomerStatus::kLead;
  ASSERT_TRUE(Run(DecideRegister(state_, {"c1", lead}, Meta(), ids_)));
  EXPECT_EQ(state_.Find("c1")->status, CustomerStatus::kLead);
  CustomerFields patch = WithStatus(CustomerStatus::kCustomer);
  patch.visits = 2;
  auto r = Run(DecideUpdate(state_, {"c1", patch, false, std::nullopt}, Meta(), ids_));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].type, kCustomerUpdated);
  EXPECT_EQ((*r)[0].payload, R"({"visits":2})");
  EXPECT_EQ((*r)[0].aggregate_version, 2);
  EXPECT_EQ((*r)[1].type, kCustomerStatusChanged);
  EXPECT_EQ((*r)[1].payload, R"({"from":"LEAD","to":"CUSTOMER"})");
  EXPECT_EQ((*r)[1].aggregate_version, 3);
  EXPECT_EQ(state_.Find("c1")->status, CustomerStatus::kCustomer);
  // The same status again changes nothing.
  auto again = DecideUpdate(
      state_, {"c1", WithStatus(CustomerStatus::kCustomer), false, std::nullopt}, Meta(), ids_);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
}

TEST_F(CustomerCommandsTest, AnIllegalStatusChangeIsRefusedNamingStatus) {
  Register("c1", "a@x.io");  // CUSTOMER by default
  CustomerFields back = WithStatus(CustomerStatus::kLead);
  back.visits = 9;
  auto r = DecideUpdate(state_, {"c1", back, false, std::nullopt}, Meta(), ids_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  ASSERT_EQ(r.error().field_errors.size(), 1u);
  EXPECT_EQ(r.error().field_errors[0].field, "status");
  EXPECT_NE(r.error().field_errors[0].message.find("from CUSTOMER to LEAD"), std::string::npos);
  // Churned, then won back as a lead.
  ASSERT_TRUE(Run(DecideUpdate(
      state_, {"c1", WithStatus(CustomerStatus::kChurned), false, std::nullopt}, Meta(), ids_)));
  auto won = Run(DecideUpdate(
      state_, {"c1", WithStatus(CustomerStatus::kLead), false, std::nullopt}, Meta(), ids_));
  ASSERT_TRUE(won) << won.error().message;
  EXPECT_EQ(state_.Find("c1")->status, CustomerStatus::kLead);
}

TEST_F(CustomerCommandsTest, AReplaceKeepsStatusAndReferralButResetsTheOtherDetails) {
  Register(kReferrer, "r@x.io");
  CustomerFields f{.name = "N", .email = "a@x.io"};
  f.status = CustomerStatus::kOpportunity;
  f.referred_by = std::optional<std::string>(kReferrer);
  f.tags = std::vector<std::string>{"vip"};
  f.address = std::optional<std::string>("Main St");
  ASSERT_TRUE(Run(DecideRegister(state_, {"c1", f}, Meta(), ids_)));
  auto r = Run(DecideUpdate(state_, {"c1", {.name = "N", .email = "a@x.io"}, true, std::nullopt},
                            Meta(), ids_));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].payload, R"({"address":null,"tags":[]})");
  const Customer* c = state_.Find("c1");
  EXPECT_EQ(c->status, CustomerStatus::kOpportunity);
  EXPECT_EQ(c->details.get().referred_by, std::optional<std::string>(kReferrer));
}

TEST_F(CustomerCommandsTest, ReferredByMustBeAnotherExistingCustomer) {
  Register(kReferrer, "r@x.io");
  CustomerFields f{.name = "N", .email = "a@x.io"};
  f.referred_by = std::optional<std::string>("nobody");
  auto r = DecideRegister(state_, {"c1", f}, Meta(), ids_);
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().field_errors.size(), 1u);
  EXPECT_EQ(r.error().field_errors[0], (FieldError{"referredBy", "Customer nobody not found"}));
  f.referred_by = std::optional<std::string>(kReferrer);
  ASSERT_TRUE(Run(DecideRegister(state_, {"c1", f}, Meta(), ids_)));
  CustomerFields self;
  self.referred_by = std::optional<std::string>("c1");
  auto own = DecideUpdate(state_, {"c1", self, false, std::nullopt}, Meta(), ids_);
  ASSERT_FALSE(own);
  ASSERT_EQ(own.error().field_errors.size(), 1u);
  EXPECT_EQ(own.error().field_errors[0].field, "referredBy");
}

TEST_F(CustomerCommandsTest, BirthDateMustNotBeInTheFuture) {
  // Meta().now is 1970-01-01T00:00:01Z.
  CustomerFields f{.name = "N", .email = "a@x.io"};
  f.birth_date = std::optional<std::string>("1970-01-02");
  auto r = DecideRegister(state_, {"c1", f}, Meta(), ids_);
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().field_errors.size(), 1u);
  EXPECT_EQ(r.error().field_errors[0], (FieldError{"birthDate", "Must not be in the future"}));
  f.birth_date = std::optional<std::string>("1970-01-01");
  EXPECT_TRUE(Run(DecideRegister(state_, {"c1", f}, Meta(), ids_)));
}

TEST_F(CustomerCommandsTest, APatchOfANamePartDerivesTheNameAgain) {
  CustomerFields f{.email = "a@x.io"};
  f.first_name = std::optional<std::string>("Ada");
  f.last_name = std::optional<std::string>("Byron");
  f.name = NameFromParts("Ada", "Byron");
  ASSERT_TRUE(Run(DecideRegister(state_, {"c1", f}, Meta(), ids_)));
  CustomerFields patch;
  patch.last_name = std::optional<std::string>("Lovelace");
  auto r = Run(DecideUpdate(state_, {"c1", patch, false, std::nullopt}, Meta(), ids_));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(state_.Find("c1")->name, "Ada Lovelace");
  // A name given beside the part wins.
  patch.last_name = std::optional<std::string>("King");
  patch.name = "Countess";
  ASSERT_TRUE(Run(DecideUpdate(state_, {"c1", patch, false, std::nullopt}, Meta(), ids_)));
  EXPECT_EQ(state_.Find("c1")->name, "Countess");
}

TEST_F(CustomerCommandsTest, ACompanyWithoutCompanyNameIsRefused) {
  Register("c1", "a@x.io");
  CustomerFields patch;
  patch.customer_type = CustomerType::kCompany;
  auto r = DecideUpdate(state_, {"c1", patch, false, std::nullopt}, Meta(), ids_);
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().field_errors.size(), 1u);
  EXPECT_EQ(r.error().field_errors[0].field, "companyName");
  patch.company_name = std::optional<std::string>("Acme");
  ASSERT_TRUE(Run(DecideUpdate(state_, {"c1", patch, false, std::nullopt}, Meta(), ids_)));
  CustomerFields clear;
  clear.company_name = std::optional<std::string>();
  auto cleared = DecideUpdate(state_, {"c1", clear, false, std::nullopt}, Meta(), ids_);
  ASSERT_FALSE(cleared);
  EXPECT_EQ(cleared.error().field_errors[0].field, "companyName");
}

}  // namespace
}  // namespace keel
