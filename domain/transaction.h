// Transactions (seed 002's payments, issue 16): money a customer paid, or was paid back, for one
// of their orders or on their account. Its event, the validation of input and the codec that the
// write side and the projector share. Pure; value types.
//
// A transaction travels on its customer's stream, as orders do (aggregate "transaction", keyed
// by the customer), so that the order it names and the payments on that order are decided
// against one write model and folded in log order. Amounts are integral cents, signed: a
// payment is positive, a refund negative ("a refund is a negative transaction"). A transaction
// is recorded once and never changes; a mistake is corrected by a refund.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/error.h"
#include "domain/event.h"
#include "domain/time.h"

namespace keel {

inline constexpr std::string_view kTransactionAggregate = "transaction";
// {customerId, orderId?, paymentMethod, amount, transactionDate}; the envelope's actor is who
// recorded it, its occurred_at when.
inline constexpr std::string_view kTransactionRecorded = "TransactionRecorded";

// How far after the command's clock a transactionDate may lie (a day: the client's time zone).
inline constexpr Millis kMaxTransactionDateAhead = 24 * 3600 * 1000;

enum class PaymentMethod { kCash, kCard, kTransfer, kOther };

std::string_view PaymentMethodName(PaymentMethod method);  // "cash", "card", ...
std::optional<PaymentMethod> ParsePaymentMethod(std::string_view name);

struct Transaction {
  std::string id;
  std::string customer_id;
  std::optional<std::string> order_id;  // none: on the customer's account
  PaymentMethod method = PaymentMethod::kCash;
  int64_t amount_cents = 0;  // > 0 a payment, < 0 a refund; never 0
  Millis transaction_date = 0;
  std::string recorded_by;  // the actor
  Millis recorded_at = 0;

  bool is_refund() const { return amount_cents < 0; }
  bool operator==(const Transaction&) const = default;
};

// A validated POST /transactions body.
struct TransactionInput {
  std::string customer_id;
  std::optional<std::string> order_id;
  PaymentMethod method = PaymentMethod::kCash;
  int64_t amount_cents = 0;
  std::optional<Millis> transaction_date;  // default: now

  bool operator==(const TransactionInput&) const = default;
};

// Validates {customerId (required), orderId, paymentMethod (cash, card, transfer, other;
// required), amount (a non-zero number with at most two decimals, magnitude at most
// 1,000,000,000,000; negative: a refund), transactionDate (ISO-8601)}. Unknown fields are named;
// every violation is listed (kInvalidArgument, "Validation failed").
Result<TransactionInput> ParseTransactionInput(std::string_view body);

// The payload of TransactionRecorded.
std::string EncodeTransactionRecorded(const Transaction& transaction);
// The transaction an event records (ids, actor and time from the envelope); kDataLoss when it is
// not a valid TransactionRecorded.
Result<Transaction> DecodeTransactionRecorded(const EventEnvelope& event);

// As served and stored: {id, customerId, orderId (null on account), type (payment or refund),
// paymentMethod, amount (signed), transactionDate, recordedBy, createdAt}.
std::string TransactionToJson(const Transaction& transaction);
// Reads what TransactionToJson wrote; kDataLoss when it does not hold a transaction.
Result<Transaction> TransactionFromJson(std::string_view json);

}  // namespace keel
