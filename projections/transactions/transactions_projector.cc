#include "projections/transactions/transactions_projector.h"

#include <algorithm>
#include <set>

#include "domain/json.h"
#include "domain/numbers.h"
#include "projections/binary.h"

namespace keel {
namespace {

std::string OrderTotalsKey(std::string_view order_id) {
  std::string key = "o/";
  key += order_id;
  return key;
}

std::string CustomerTotalsKey(std::string_view customer_id) {
  std::string key = "c/";
  key += customer_id;
  return key;
}

std::string IndexKey(std::string_view owner, std::string_view transaction_id) {
  std::string key(owner);
  key += '/';
  key += transaction_id;
  return key;
}

// Adds the transaction to the totals at `key`.
Status AddToTotals(StateView& view, const std::string& key, const Transaction& t,
                   std::vector<StoreWrite>& writes) {
  auto stored = view.Get(kPaymentTotalsTable, key);
  if (!stored) return Fail(stored.error());
  PaymentTotals totals;
  if (*stored) {
    auto decoded = DecodePaymentTotals(**stored);
    if (!decoded) return Fail(Error::Internal("Payment totals unreadable at " + key));
    totals = *decoded;
  }
  // Held at the int64 limit rather than refused: nothing the log holds is dead-lettered for a
  // sum only an absurd number of transactions could reach.
  if (t.is_refund()) {
    totals.refunded_cents = SaturatingAdd(totals.refunded_cents, -t.amount_cents);
  } else {
    totals.paid_cents = SaturatingAdd(totals.paid_cents, t.amount_cents);
  }
  totals.count = SaturatingAdd(totals.count, 1);
  totals.net_cents = SaturatingAdd(totals.net_cents, t.amount_cents);
  writes.push_back({kPaymentTotalsTable, key, EncodePaymentTotals(totals)});
  return {};
}

Result<PaymentTotals> QueryTotals(ReadStore& store, const std::string& key) {
  auto stored = store.Get(kPaymentTotalsTable, key);
  if (!stored) return Fail(stored.error());
  if (!*stored) return PaymentTotals{};
  auto decoded = DecodePaymentTotals(**stored);
  if (!decoded) return Fail(Error::Internal("Payment totals unreadable at " + key));
  return *decoded;
}

bool Matches(const TransactionListQuery& q, const std::set<std::string, std::less<>>* owned,
             const Transaction& t) {
  if (q.customer_id && t.customer_id != *q.customer_id) return false;
  if (owned && !owned->contains(t.customer_id)) return false;
  if (q.order_id && t.order_id != *q.order_id) return false;
  if (q.method && t.method != *q.method) return false;
  if (q.refunds && t.is_refund() != *q.refunds) return false;
  if (q.from && t.transaction_date < *q.from) return false;
  if (q.to && t.transaction_date > *q.to) return false;
  return true;
}

}  // namespace

Status TransactionsProjector::Apply(const EventEnvelope& event, const EventPosition&,
                                    StateView& view, std::vector<StoreWrite>& writes) {
  if (event.aggregate_type != kTransactionAggregate) return {};
  auto t = DecodeTransactionRecorded(event);
  if (!t) return Fail(t.error());
  auto existing = view.Get(kTransactionsTable, t->id);
  if (!existing) return Fail(existing.error());
  if (*existing) return Fail(Error::DataLoss("Transaction " + t->id + " recorded twice"));
  if (auto st = AddToTotals(view, CustomerTotalsKey(t->customer_id), *t, writes); !st) return st;
  if (t->order_id) {
    if (auto st = AddToTotals(view, OrderTotalsKey(*t->order_id), *t, writes); !st) return st;
  }
  std::string doc = TransactionToJson(*t);
  writes.push_back({kTransactionsByCustomerTable, IndexKey(t->customer_id, t->id), doc});
  if (t->order_id) {
    writes.push_back({kTransactionsByOrderTable, IndexKey(*t->order_id, t->id), doc});
  }
  writes.push_back({kTransactionsTable, t->id, std::move(doc)});
  return {};
}

std::string EncodePaymentTotals(const PaymentTotals& totals) {
  std::string out;
  PutI64(out, totals.paid_cents);
  PutI64(out, totals.refunded_cents);
  PutI64(out, totals.count);
  PutI64(out, totals.net_cents);
  return out;
}

std::optional<PaymentTotals> DecodePaymentTotals(std::string_view bytes) {
  BinaryReader in(bytes);
  PaymentTotals totals;
  totals.paid_cents = in.I64();
  totals.refunded_cents = in.I64();
  totals.count = in.I64();
  totals.net_cents = in.I64();
  if (in.bad() || !in.done()) return std::nullopt;
  return totals;
}

OrderBalance BalanceOf(const Order& order, const PaymentTotals& totals) {
  OrderBalance b;
  const bool cancelled = order.status == OrderStatus::kCancelled;
  b.due_cents = cancelled ? 0 : order.amount_cents;
  b.totals = totals;
  const int64_t net = totals.net_cents;
  b.outstanding_cents = b.due_cents - net;
  if (cancelled && net == 0) {
    b.status = "cancelled";
  } else if (net > b.due_cents) {
    b.status = "overpaid";
  } else if (net == b.due_cents) {
    b.status = "paid";
  } else if (net <= 0) {
    b.status = "unpaid";
  } else {
    b.status = "partial";
  }
  return b;
}

std::string OrderBalanceToJson(const Order& order, const OrderBalance& b) {
  JsonWriter w;
  w.BeginObject();
  w.Key("orderId").String(order.id);
  w.Key("customerId").String(order.customer_id);
  w.Key("orderAmount").Cents(order.amount_cents);
  w.Key("orderStatus").String(OrderStatusName(order.status));
  w.Key("due").Cents(b.due_cents);
  w.Key("paid").Cents(b.totals.paid_cents);
  w.Key("refunded").Cents(b.totals.refunded_cents);
  w.Key("netPaid").Cents(b.totals.net_cents);
  w.Key("outstanding").Cents(b.outstanding_cents);
  w.Key("status").String(b.status);
  w.Key("transactionCount").Int(b.totals.count);
  w.EndObject();
  return w.Take();
}

Result<std::optional<Transaction>> QueryTransaction(ReadStore& store, std::string_view id) {
  auto stored = store.Get(kTransactionsTable, id);
  if (!stored) return Fail(stored.error());
  if (!*stored) return std::optional<Transaction>();
  auto t = TransactionFromJson(**stored);
  if (!t) return Fail(t.error());
  return std::optional<Transaction>(std::move(*t));
}

Result<PaymentTotals> QueryOrderPayments(ReadStore& store, std::string_view order_id) {
  return QueryTotals(store, OrderTotalsKey(order_id));
}

Result<PaymentTotals> QueryCustomerPayments(ReadStore& store, std::string_view customer_id) {
  return QueryTotals(store, CustomerTotalsKey(customer_id));
}

Result<TransactionPage> QueryTransactions(ReadStore& store, const TransactionListQuery& q,
                                          int64_t max_read) {
  std::optional<std::set<std::string, std::less<>>> owned;
  if (q.customer_ids) owned.emplace(q.customer_ids->begin(), q.customer_ids->end());
  std::string_view table = kTransactionsTable;
  std::string prefix;
  if (q.order_id) {
    table = kTransactionsByOrderTable;
    prefix = IndexKey(*q.order_id, "");
  } else if (q.customer_id) {
    table = kTransactionsByCustomerTable;
    prefix = IndexKey(*q.customer_id, "");
  }
  TransactionPage page;
  const size_t skip = static_cast<size_t>(q.page - 1) * static_cast<size_t>(q.limit);
  Status bad;
  int64_t read = 0;
  auto st = store.ScanReverse(table, prefix, "", [&](std::string_view, std::string_view v) {
    if (read++ >= max_read) {
      page.truncated = true;
      return false;
    }
    auto t = TransactionFromJson(v);
    if (!t) {
      bad = Fail(t.error());
      return false;
    }
    if (!Matches(q, owned ? &*owned : nullptr, *t)) return true;
    if (static_cast<size_t>(page.total++) >= skip &&
        page.items.size() < static_cast<size_t>(q.limit)) {
      page.items.push_back(std::move(*t));
    }
    return true;
  });
  if (!st) return Fail(st.error());
  if (!bad) return Fail(bad.error());
  return page;
}

}  // namespace keel
