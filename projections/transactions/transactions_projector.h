// The transactions read model (payments and refunds, issue 16), folded from the customers stream
// where transactions travel: each transaction as served, the customer's and the order's
// transactions (newest recorded first; a transaction never changes, so the indexes hold the
// document itself), and the payment totals of each order and customer (paid, refunded, count).
// An order's balance (its amount against what was paid) is joined at read time with the orders
// read model of the same group, so that an order placed or cancelled costs this model nothing.
// The projector holds no state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/order.h"
#include "domain/topics.h"
#include "domain/transaction.h"
#include "infra/read_store.h"
#include "projections/projector.h"

namespace keel {

// transaction id → TransactionToJson.
inline constexpr std::string_view kTransactionsTable = "transactions";
// customer id/transaction id → TransactionToJson.
inline constexpr std::string_view kTransactionsByCustomerTable = "transactions_by_customer";
// order id/transaction id → TransactionToJson.
inline constexpr std::string_view kTransactionsByOrderTable = "transactions_by_order";
// "o/" order id or "c/" customer id → PaymentTotals (three int64s).
inline constexpr std::string_view kPaymentTotalsTable = "payment_totals";

class TransactionsProjector final : public Projector {
 public:
  std::string_view name() const override { return "transactions"; }
  // 2: the payment totals keep the net (32 bytes), so a store of the first layout is rebuilt.
  int format() const override { return 2; }
  std::vector<std::string_view> topics() const override { return {kCustomersTopic}; }
  std::vector<std::string> tables() const override {
    return {std::string(kTransactionsTable), std::string(kTransactionsByCustomerTable),
            std::string(kTransactionsByOrderTable), std::string(kPaymentTotalsTable)};
  }
  // kDataLoss for an undecodable transaction or one recorded twice.
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) override;
  void Unapply(int32_t, int64_t) override {}  // remembers nothing
};

// What was paid and refunded (both as positive cents), in how many transactions; and the net,
// kept exactly on its own: the gross sums are held at the int64 limit (a payment and refund
// cycle can grow them without bound), the net is bounded by the write model's caps.
struct PaymentTotals {
  int64_t paid_cents = 0;
  int64_t refunded_cents = 0;
  int64_t count = 0;
  int64_t net_cents = 0;

  bool operator==(const PaymentTotals&) const = default;
};

std::string EncodePaymentTotals(const PaymentTotals& totals);
// nullopt for bytes EncodePaymentTotals did not write.
std::optional<PaymentTotals> DecodePaymentTotals(std::string_view bytes);

// An order's payment state: what is due (its amount; nothing once cancelled), what was paid net,
// and what is outstanding (negative: paid beyond what is due, a refund is owed).
struct OrderBalance {
  int64_t due_cents = 0;
  PaymentTotals totals;
  int64_t outstanding_cents = 0;
  // unpaid (nothing paid net), partial, paid (net equals what is due), overpaid (beyond it);
  // cancelled for a cancelled order with nothing paid net.
  std::string_view status;
};
OrderBalance BalanceOf(const Order& order, const PaymentTotals& totals);
// {orderId, customerId, orderAmount, orderStatus, due, paid, refunded, netPaid, outstanding,
// status, transactionCount}.
std::string OrderBalanceToJson(const Order& order, const OrderBalance& balance);

// Queries. Thread-safe as the store is.
Result<std::optional<Transaction>> QueryTransaction(ReadStore& store, std::string_view id);
// Zero totals when the order or customer has no transaction.
Result<PaymentTotals> QueryOrderPayments(ReadStore& store, std::string_view order_id);
Result<PaymentTotals> QueryCustomerPayments(ReadStore& store, std::string_view customer_id);

struct TransactionListQuery {
  int page = 1;
  int limit = 20;
  std::optional<std::string> customer_id;
  // Only the transactions of these customers (a sales rep's own); with customer_id, both apply.
  std::optional<std::vector<std::string>> customer_ids;
  std::optional<std::string> order_id;
  std::optional<PaymentMethod> method;
  std::optional<bool> refunds;     // true: refunds only; false: payments only
  std::optional<Millis> from, to;  // transactionDate, inclusive
};

// A list reads at most this many rows: past it the page says `truncated`, and `total` counts the
// matches among the rows read.
inline constexpr int64_t kMaxTransactionsRead = 10'000;

struct TransactionPage {
  std::vector<Transaction> items;  // newest recorded first
  int64_t total = 0;               // every match (among the rows read: see `truncated`)
  bool truncated = false;          // more than kMaxTransactionsRead rows would have been read
};

// Reads the order's or the customer's index when the query names one, else every transaction.
// Reads at most `max_read` rows (then the page is `truncated`).
Result<TransactionPage> QueryTransactions(ReadStore& store, const TransactionListQuery& query,
                                          int64_t max_read = kMaxTransactionsRead);

}  // namespace keel
