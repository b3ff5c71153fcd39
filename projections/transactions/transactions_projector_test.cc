// TransactionsProjector: each transaction is served and indexed by customer and order; the
// payment totals follow; a balance is an order against its totals.
#include "projections/transactions/transactions_projector.h"

#include <gtest/gtest.h>

#include <limits>

#include "projections/testing/map_read_store.h"
#include "projections/testing/map_state_view.h"

namespace keel {
namespace {

using testing::MakeTestEvent;
using testing::MapReadStore;
using testing::MapStateView;

constexpr Millis kNow = 1'800'000'000'000;

class TransactionsProjectorTest : public ::testing::Test {
 protected:
  Status Fold(const EventEnvelope& e) {
    std::vector<StoreWrite> writes;
    auto st = projector_.Apply(e, {0, offset_++, ""}, view_, writes);
    if (st) {
      view_.Commit(writes);
      EXPECT_TRUE(store_.Write(writes));
    }
    return st;
  }
  // Records transaction `id` (ids order them as Keel's time-ordered ids do).
  void Record(const std::string& id, const std::string& customer, std::optional<std::string> order,
              int64_t cents, PaymentMethod method = PaymentMethod::kCash, Millis date = kNow) {
    Transaction t{.id = id,
                  .customer_id = customer,
                  .order_id = std::move(order),
                  .method = method,
                  .amount_cents = cents,
                  .transaction_date = date};
    auto e = MakeTestEvent(kTransactionRecorded, kTransactionAggregate, id, 1,
                           EncodeTransactionRecorded(t), kNow + offset_);
    e.actor = "u1";
    ASSERT_TRUE(Fold(e));
  }
  std::vector<std::string> Ids(const TransactionListQuery& q, int64_t* total = nullptr) {
    auto page = QueryTransactions(store_, q);
    EXPECT_TRUE(page) << page.error().message;
    std::vector<std::string> ids;
    for (const auto& t : page->items) ids.push_back(t.id);
    if (total) *total = page->total;
    return ids;
  }

  TransactionsProjector projector_;
  MapStateView view_;
  MapReadStore store_;
  int64_t offset_ = 0;
};

TEST_F(TransactionsProjectorTest, TransactionsAreServedAndTotalled) {
  Record("t1", "c1", "o1", 4000, PaymentMethod::kCard);
  Record("t2", "c1", "o1", -1500);
  Record("t3", "c1", std::nullopt, 700);
  Record("t4", "c2", "o2", 100);

  auto t2 = QueryTransaction(store_, "t2");
  ASSERT_TRUE(t2 && *t2);
  EXPECT_EQ((*t2)->amount_cents, -1500);
  EXPECT_EQ((*t2)->order_id, "o1");
  EXPECT_EQ((*t2)->recorded_by, "u1");
  EXPECT_FALSE(*QueryTransaction(store_, "t9"));

  EXPECT_EQ(*QueryOrderPayments(store_, "o1"), (PaymentTotals{4000, 1500, 2, 2500}));
  EXPECT_EQ(*QueryCustomerPayments(store_, "c1"), (PaymentTotals{4700, 1500, 3, 3200}));
  EXPECT_EQ(*QueryCustomerPayments(store_, "c2"), (PaymentTotals{100, 0, 1, 100}));
  EXPECT_EQ(*QueryOrderPayments(store_, "o9"), PaymentTotals{});
}

TEST_F(TransactionsProjectorTest, AListReadsAtMostItsBudgetAndSaysItWasTruncated) {
  for (int i = 0; i < 5; ++i) Record("t" + std::to_string(i), "c1", std::nullopt, 100 + i);
  TransactionListQuery q;
  auto all = QueryTransactions(store_, q, /*max_read=*/5);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->total, 5);
  EXPECT_FALSE(all->truncated);
  auto cut = QueryTransactions(store_, q, /*max_read=*/3);
  ASSERT_TRUE(cut);
  EXPECT_EQ(cut->total, 3);  // the matches among the rows read
  EXPECT_TRUE(cut->truncated);
}

TEST_F(TransactionsProjectorTest, ListsFilterAndPageNewestFirst) {
  Record("t1", "c1", "o1", 4000, PaymentMethod::kCard, kNow - 3000);
  Record("t2", "c1", "o1", -1500, PaymentMethod::kCash, kNow - 2000);
  Record("t3", "c1", std::nullopt, 700, PaymentMethod::kTransfer, kNow - 1000);
  Record("t4", "c2", "o2", 100, PaymentMethod::kCard, kNow);

  int64_t total = 0;
  EXPECT_EQ(Ids({}, &total), (std::vector<std::string>{"t4", "t3", "t2", "t1"}));
  EXPECT_EQ(total, 4);
  EXPECT_EQ(Ids({.customer_id = "c1"}), (std::vector<std::string>{"t3", "t2", "t1"}));
  EXPECT_EQ(Ids({.order_id = "o1"}), (std::vector<std::string>{"t2", "t1"}));
  EXPECT_EQ(Ids({.customer_id = "c2", .order_id = "o1"}), std::vector<std::string>{});
  EXPECT_EQ(Ids({.method = PaymentMethod::kCard}), (std::vector<std::string>{"t4", "t1"}));
  EXPECT_EQ(Ids({.refunds = true}), (std::vector<std::string>{"t2"}));
  EXPECT_EQ(Ids({.refunds = false, .from = kNow - 2500, .to = kNow - 500}),
            (std::vector<std::string>{"t3"}));
  EXPECT_EQ(Ids({.customer_ids = std::vector<std::string>{"c2"}}),
            (std::vector<std::string>{"t4"}));
  EXPECT_EQ(Ids({.page = 2, .limit = 3}, &total), (std::vector<std::string>{"t1"}));
  EXPECT_EQ(total, 4);
}

TEST_F(TransactionsProjectorTest, AnUndecodableOrRepeatedTransactionIsDataLoss) {
  Record("t1", "c1", "o1", 100);
  Transaction again{.id = "t1", .customer_id = "c1", .amount_cents = 5, .transaction_date = kNow};
  auto twice = Fold(MakeTestEvent(kTransactionRecorded, kTransactionAggregate, "t1", 1,
                                  EncodeTransactionRecorded(again), kNow));
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, ErrorCode::kDataLoss);
  auto bad = Fold(MakeTestEvent(kTransactionRecorded, kTransactionAggregate, "t2", 1,
                                R"({"customerId":"c1"})", kNow));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(*QueryCustomerPayments(store_, "c1"), (PaymentTotals{100, 0, 1, 100}));
  // Other events of the stream are not this model's.
  EXPECT_TRUE(Fold(MakeTestEvent(kOrderPlaced, kOrderAggregate, "o1", 1, "{}", kNow)));
}

TEST(OrderBalanceTest, TheStatusFollowsWhatWasPaidAgainstWhatIsDue) {
  Order o;
  o.id = "o1";
  o.customer_id = "c1";
  o.amount_cents = 10000;
  auto status = [&](int64_t paid, int64_t refunded) {
    return std::string(BalanceOf(o, {paid, refunded, 1, paid - refunded}).status);
  };
  EXPECT_EQ(status(0, 0), "unpaid");
  EXPECT_EQ(status(4000, 0), "partial");
  EXPECT_EQ(status(12000, 2000), "paid");
  EXPECT_EQ(status(12000, 1000), "overpaid");
  EXPECT_EQ(status(3000, 3000), "unpaid");
  EXPECT_EQ(BalanceOf(o, {4000, 1000, 2, 3000}).outstanding_cents, 7000);
  o.status = OrderStatus::kCancelled;
  EXPECT_EQ(status(0, 0), "cancelled");
  EXPECT_EQ(status(4000, 0), "overpaid");  // a refund is owed
  EXPECT_EQ(status(4000, 4000), "cancelled");
  const OrderBalance b = BalanceOf(o, {4000, 1000, 2, 3000});
  EXPECT_EQ(b.due_cents, 0);
  EXPECT_EQ(b.outstanding_cents, -3000);
  EXPECT_EQ(OrderBalanceToJson(o, b),
            R"({"orderId":"o1","customerId":"c1","orderAmount":100.00,"orderStatus":"Cancelled",)"
            R"("due":0.00,"paid":40.00,"refunded":10.00,"netPaid":30.00,"outstanding":-30.00,)"
            R"("status":"overpaid","transactionCount":2})");
}

TEST(PaymentTotalsTest, TheNetStaysExactWhenTheGrossSumsAreHeldAtTheLimit) {
  PaymentTotals t{std::numeric_limits<int64_t>::max(), 5000, 3, 1000};
  auto back = DecodePaymentTotals(EncodePaymentTotals(t));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, t);
  Order o;
  o.amount_cents = 1000;
  // The gross paid sum saturated: the balance follows the net, not paid - refunded.
  EXPECT_EQ(BalanceOf(o, t).outstanding_cents, 0);
  EXPECT_EQ(std::string(BalanceOf(o, t).status), "paid");
}

}  // namespace
}  // namespace keel
