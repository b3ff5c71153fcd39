#include "commands/transaction_commands.h"

#include "commands/date_limits.h"
#include "domain/json.h"
#include "domain/numbers.h"

namespace keel {
namespace {

int64_t NetOf(const std::unordered_map<std::string, int64_t>& sums, std::string_view key) {
  auto it = sums.find(std::string(key));
  return it == sums.end() ? 0 : it->second;
}

Error AmountError(std::string message) {
  return Error::Validation({{"amount", std::move(message)}});
}

// The refusal of a payment or refund on order `id`, or none.
std::optional<Error> CheckOrderAmount(const std::string& id, const OrderWriteModel::Entry& order,
                                      int64_t net_paid, int64_t amount) {
  if (amount < 0) {
    if (-amount <= net_paid) return std::nullopt;
    std::string message = "A refund may not exceed what was paid on order ";
    message += id;
    message += " (";
    message += FormatCents(net_paid);
    message += ")";
    return AmountError(std::move(message));
  }
  if (order.status == OrderStatus::kCancelled) {
    std::string message = "Order ";
    message += id;
    message += " is cancelled; it takes refunds only";
    return Error::Validation({{"orderId", std::move(message)}});
  }
  const int64_t outstanding = order.amount_cents - net_paid;
  if (amount <= outstanding) return std::nullopt;
  std::string message = "Order ";
  message += id;
  if (outstanding <= 0) {
    message += " is paid in full";
  } else {
    message += " has ";
    message += FormatCents(outstanding);
    message += " outstanding; a payment may not exceed it";
  }
  return AmountError(std::move(message));
}

}  // namespace

int64_t PaymentWriteModel::NetPaidOnOrder(std::string_view order_id) const {
  return NetOf(by_order_, order_id);
}

int64_t PaymentWriteModel::NetPaidOnAccount(std::string_view customer_id) const {
  return NetOf(on_account_, customer_id);
}

Status PaymentWriteModel::Apply(const Transaction& t) {
  int64_t& net = t.order_id ? by_order_[*t.order_id] : on_account_[t.customer_id];
  auto sum = CheckedAdd(net, t.amount_cents);
  if (!sum) {
    return Fail(Error::DataLoss("Transaction " + t.id + " would take a net sum past int64 cents"));
  }
  net = *sum;
  return {};
}

Result<TransactionDecision> DecideRecordTransaction(const CustomerWriteModel& customers,
                                                    const OrderWriteModel& orders,
                                                    const PaymentWriteModel& payments,
                                                    const RecordTransaction& cmd, std::string id,
                                                    const CommandMeta& meta, IdGenerator& ids) {
  const TransactionInput& in = cmd.input;
  const Customer* customer = customers.Find(in.customer_id);
  if (!customer) {
    std::string message = "No customer with id ";
    message += in.customer_id;
    return Fail(Error::Validation({{"customerId", std::move(message)}}));
  }
  const Millis date = in.transaction_date.value_or(meta.now);
  if (auto st = CheckNotTooFarAhead("transactionDate", date, meta.now, kMaxTransactionDateAhead);
      !st) {
    return Fail(st.error());
  }
  if (in.order_id) {
    const OrderWriteModel::Entry* order = orders.Find(*in.order_id);
    // One message whether the order is missing or another's: nothing of it is told.
    if (!order || *order->customer_id != customer->id) {
      std::string message = "No order ";
      message += *in.order_id;
      message += " of customer ";
      message += customer->id;
      return Fail(Error::Validation({{"orderId", std::move(message)}}));
    }
    if (auto refused = CheckOrderAmount(*in.order_id, *order, payments.NetPaidOnOrder(*in.order_id),
                                        in.amount_cents)) {
      return Fail(std::move(*refused));
    }
  } else {
    const int64_t net = payments.NetPaidOnAccount(customer->id);
    if (in.amount_cents < 0 && -in.amount_cents > net) {
      std::string message = "A refund may not exceed what was paid on the account of customer ";
      message += customer->id;
      message += " (";
      message += FormatCents(net);
      message += ")";
      return Fail(AmountError(std::move(message)));
    }
    if (in.amount_cents > 0 && net > kMaxCents - in.amount_cents) {
      std::string message = "The account of customer ";
      message += customer->id;
      message += " would hold more than 1000000000000";
      return Fail(AmountError(std::move(message)));
    }
  }
  TransactionDecision d;
  Transaction& t = d.transaction;
  t.id = std::move(id);
  t.customer_id = customer->id;
  t.order_id = in.order_id;
  t.method = in.method;
  t.amount_cents = in.amount_cents;
  t.transaction_date = date;
  t.recorded_by = meta.actor;
  t.recorded_at = meta.now;
  d.events.push_back(NewEvent(kTransactionAggregate, kTransactionRecorded, t.id, 1,
                              EncodeTransactionRecorded(t), meta, ids));
  return d;
}

}  // namespace keel
