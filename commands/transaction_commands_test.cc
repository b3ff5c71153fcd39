#include "commands/transaction_commands.h"

#include <gtest/gtest.h>

#include "commands/write_model.h"

namespace keel {
namespace {

class FixedClock final : public Clock {
 public:
  Millis NowMillis() override { return 1'700'000'000'000; }
};

constexpr Millis kNow = 1'700'000'000'000;

class TransactionCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Fold(DecideRegister(state_.customers, {"c1", {.name = "A", .email = "a@x.io"}}, Meta(), ids_));
    Fold(DecideRegister(state_.customers, {"c2", {.name = "B", .email = "b@x.io"}}, Meta(), ids_));
    order_ = PlaceOrder("c1", 10000);
  }
  CommandMeta Meta() { return {.now = kNow, .actor = "tester"}; }
  void Fold(const Result<std::vector<EventEnvelope>>& events) {
    ASSERT_TRUE(events) << events.error().message;
    for (const auto& e : *events) ASSERT_TRUE(state_.Apply(e));
  }
  std::string PlaceOrder(const std::string& customer, int64_t cents) {
    auto d = DecidePlaceOrder(state_.customers, state_.orders,
                              {{.customer_id = customer, .amount_cents = cents}}, Meta(), ids_);
    EXPECT_TRUE(d);
    Fold(d->events);
    return d->order_id;
  }
  // Decides and, when decided, folds the transaction as the command service does.
  Result<TransactionDecision> Record(TransactionInput in) {
    auto d = DecideRecordTransaction(state_.customers, state_.orders, state_.payments,
                                     {std::move(in)}, "t" + std::to_string(++n_), Meta(), ids_);
    if (d) Fold(d->events);
    return d;
  }
  TransactionInput On(const std::string& order, int64_t cents, const std::string& customer = "c1") {
    return {.customer_id = customer, .order_id = order, .amount_cents = cents};
  }
  static std::string FieldOf(const Result<TransactionDecision>& d) {
    if (d || d.error().field_errors.size() != 1) return "";
    return d.error().field_errors[0].field;
  }

  FixedClock clock_;
  UuidV7Generator ids_{clock_, 7};
  WriteModel state_;
  std::string order_;
  int n_ = 0;
};

TEST_F(TransactionCommandsTest, APaymentIsRecordedOnTheCustomersStream) {
  auto d = Record({.customer_id = "c1",
                   .order_id = order_,
                   .method = PaymentMethod::kCard,
                   .amount_cents = 4000});
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(d->events.size(), 1u);
  const EventEnvelope& e = d->events[0];
  EXPECT_EQ(e.type, kTransactionRecorded);
  EXPECT_EQ(e.aggregate_type, kTransactionAggregate);
  EXPECT_EQ(e.aggregate_id, "t1");
  EXPECT_EQ(e.aggregate_version, 1);
  EXPECT_EQ(d->transaction.transaction_date, kNow);  // defaults to now
  EXPECT_EQ(d->transaction.recorded_by, "tester");
  EXPECT_EQ(*DecodeTransactionRecorded(e), d->transaction);
  EXPECT_EQ(state_.payments.NetPaidOnOrder(order_), 4000);
  EXPECT_EQ(state_.payments.NetPaidOnAccount("c1"), 0);
}

TEST_F(TransactionCommandsTest, APaymentMayNotExceedWhatIsOutstanding) {
  ASSERT_TRUE(Record(On(order_, 6000)));
  auto over = Record(On(order_, 4001));
  EXPECT_EQ(FieldOf(over), "amount");
  EXPECT_EQ(over.error().field_errors[0].message,
            "Order " + order_ + " has 40.00 outstanding; a payment may not exceed it");
  ASSERT_TRUE(Record(On(order_, 4000)));
  auto full = Record(On(order_, 1));
  EXPECT_EQ(FieldOf(full), "amount");
  EXPECT_EQ(full.error().field_errors[0].message, "Order " + order_ + " is paid in full");
  EXPECT_EQ(state_.payments.NetPaidOnOrder(order_), 10000);
}

TEST_F(TransactionCommandsTest, ARefundMayNotExceedWhatWasPaidNet) {
  auto nothing = Record(On(order_, -1));
  EXPECT_EQ(FieldOf(nothing), "amount");
  ASSERT_TRUE(Record(On(order_, 3000)));
  ASSERT_TRUE(Record(On(order_, -1000)));
  auto over = Record(On(order_, -2001));
  EXPECT_EQ(FieldOf(over), "amount");
  EXPECT_EQ(over.error().field_errors[0].message,
            "A refund may not exceed what was paid on order " + order_ + " (20.00)");
  ASSERT_TRUE(Record(On(order_, -2000)));
  EXPECT_EQ(state_.payments.NetPaidOnOrder(order_), 0);
  // What was refunded may be paid again.
  ASSERT_TRUE(Record(On(order_, 10000)));
}

TEST_F(TransactionCommandsTest, AnOrderOfAnotherCustomerOrNoneIsRefusedAlike) {
  const std::string theirs = PlaceOrder("c2", 500);
  auto other = Record(On(theirs, 100));
  EXPECT_EQ(FieldOf(other), "orderId");
  EXPECT_EQ(other.error().field_errors[0].message, "No order " + theirs + " of customer c1");
  auto none = Record(On("no-such-order", 100));
  EXPECT_EQ(FieldOf(none), "orderId");
  EXPECT_EQ(none.error().field_errors[0].message, "No order no-such-order of customer c1");
  EXPECT_EQ(FieldOf(Record(On(order_, 100, "nobody"))), "customerId");
  EXPECT_EQ(state_.payments.NetPaidOnOrder(theirs), 0);
}

TEST_F(TransactionCommandsTest, ACancelledOrderTakesRefundsOnly) {
  ASSERT_TRUE(Record(On(order_, 2500)));
  Fold(DecideChangeOrderStatus(state_.orders, {order_, OrderStatus::kCancelled, std::nullopt},
                               Meta(), ids_));
  auto paid = Record(On(order_, 100));
  EXPECT_EQ(FieldOf(paid), "orderId");
  EXPECT_EQ(paid.error().field_errors[0].message,
            "Order " + order_ + " is cancelled; it takes refunds only");
  ASSERT_TRUE(Record(On(order_, -2500)));
  EXPECT_EQ(state_.payments.NetPaidOnOrder(order_), 0);
}

TEST_F(TransactionCommandsTest, TheAccountTakesPaymentsWithoutAnOrderAndRefundsUpToThem) {
  ASSERT_TRUE(Record({.customer_id = "c2", .amount_cents = 700}));
  EXPECT_EQ(FieldOf(Record({.customer_id = "c2", .amount_cents = -701})), "amount");
  // Payments on an order do not count for the account, nor the other way round.
  ASSERT_TRUE(Record(On(order_, 5000)));
  EXPECT_EQ(FieldOf(Record({.customer_id = "c1", .amount_cents = -1})), "amount");
  ASSERT_TRUE(Record({.customer_id = "c2", .amount_cents = -700}));
  EXPECT_EQ(state_.payments.NetPaidOnAccount("c2"), 0);
  EXPECT_EQ(state_.payments.NetPaidOnOrder(order_), 5000);
}

TEST_F(TransactionCommandsTest, ADateFarInTheFutureIsRefusedAndAnInactiveCustomerStillPays) {
  TransactionInput in = On(order_, 100);
  in.transaction_date = kNow + kMaxTransactionDateAhead + 1;
  EXPECT_EQ(FieldOf(Record(in)), "transactionDate");
  in.transaction_date = kNow + kMaxTransactionDateAhead;
  ASSERT_TRUE(Record(in));
  Fold(DecideDeactivate(state_.customers, {"c1", std::nullopt}, Meta(), ids_));
  auto late = Record(On(order_, 100));
  ASSERT_TRUE(late) << late.error().message;
}

TEST_F(TransactionCommandsTest, TheSnapshotFormHoldsThePaymentsAndTheFoldIsTheDecisions) {
  ASSERT_TRUE(Record(On(order_, 3000)));
  ASSERT_TRUE(Record(On(order_, -500)));
  ASSERT_TRUE(Record({.customer_id = "c2", .amount_cents = 900}));
  SnapshotWriter out;
  ASSERT_TRUE(state_.Save(out));
  WriteModel restored;
  SnapshotReader in(out.bytes());
  ASSERT_TRUE(restored.Restore(in));
  EXPECT_TRUE(in.done());
  EXPECT_TRUE(restored.SameAs(state_));
  EXPECT_EQ(restored.payments.NetPaidOnOrder(order_), 2500);
  EXPECT_EQ(restored.payments.NetPaidOnAccount("c2"), 900);
  ASSERT_TRUE(Record(On(order_, 1)));
  EXPECT_FALSE(restored.SameAs(state_));
}

}  // namespace
}  // namespace keel
