#include "domain/transaction.h"

#include <utility>
#include <vector>

#include "domain/customer.h"
#include "domain/json.h"
#include "domain/json_input.h"

namespace keel {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

constexpr std::pair<PaymentMethod, std::string_view> kMethodNames[] = {
    {PaymentMethod::kCash, "cash"},
    {PaymentMethod::kCard, "card"},
    {PaymentMethod::kTransfer, "transfer"},
    {PaymentMethod::kOther, "other"},
};

constexpr std::string_view kMethodsMessage = "Must be one of cash, card, transfer, other";
constexpr size_t kMaxIdLength = 100;

// A signed amount in cents: non-zero, at most two decimals, magnitude at most kMaxCents.
std::optional<int64_t> ReadSignedAmount(element v, std::vector<FieldError>& errors) {
  if (v.type() != element_type::INT64 && v.type() != element_type::UINT64 &&
      v.type() != element_type::DOUBLE) {
    errors.push_back({"amount", "Expected a number, got " + std::string(json::TypeName(v))});
    return std::nullopt;
  }
  constexpr std::string_view kRange =
      "Must be a non-zero amount between -1000000000000 and 1000000000000 (negative: a refund)";
  // The range first: a huge number is too large, whatever its decimals.
  const double units = v.get_double().value_unsafe();
  const double bound = static_cast<double>(kMaxCents / 100);
  if (!(units >= -bound && units <= bound)) {
    errors.push_back({"amount", std::string(kRange)});
    return std::nullopt;
  }
  auto cents = json::ToCents(v);
  if (!cents) {
    errors.push_back({"amount", "Amount must have at most two decimal places"});
    return std::nullopt;
  }
  if (*cents == 0 || *cents > kMaxCents || *cents < -kMaxCents) {
    errors.push_back({"amount", std::string(kRange)});
    return std::nullopt;
  }
  return cents;
}

Error Lost(std::string_view what) {
  std::string message = "Transaction ";
  message += what;
  return Error::DataLoss(std::move(message));
}

// The members a payload and a document share, read back; `doc` is an object.
Status ReadShared(element doc, Transaction& t) {
  std::string_view s;
  if (doc.at_key("customerId").get(s) || s.empty()) return Fail(Lost("without customerId"));
  t.customer_id = std::string(s);
  element order;
  if (!doc.at_key("orderId").get(order) && !order.is_null()) {
    if (order.get(s) || s.empty()) return Fail(Lost("with an orderId that is not an id"));
    t.order_id = std::string(s);
  }
  if (doc.at_key("paymentMethod").get(s) || !ParsePaymentMethod(s)) {
    return Fail(Lost("without a known paymentMethod"));
  }
  t.method = *ParsePaymentMethod(s);
  element amount;
  if (doc.at_key("amount").get(amount)) return Fail(Lost("without amount"));
  auto cents = json::ToCents(amount);
  if (!cents || *cents == 0 || *cents > kMaxCents || *cents < -kMaxCents) {
    return Fail(Lost("amount out of range"));
  }
  t.amount_cents = *cents;
  if (doc.at_key("transactionDate").get(s) || !ParseIso8601(s)) {
    return Fail(Lost("without a transactionDate"));
  }
  t.transaction_date = *ParseIso8601(s);
  return {};
}

}  // namespace

std::string_view PaymentMethodName(PaymentMethod method) {
  for (const auto& [m, name] : kMethodNames) {
    if (m == method) return name;
  }
  return "other";
}

std::optional<PaymentMethod> ParsePaymentMethod(std::string_view name) {
  for (const auto& [m, n] : kMethodNames) {
    if (n == name) return m;
  }
  return std::nullopt;
}

Result<TransactionInput> ParseTransactionInput(std::string_view body) {
  auto fields = json::BodyObject(body);
  if (!fields) return Fail(fields.error());
  TransactionInput in;
  std::vector<FieldError> errors;
  bool has_customer = false, has_method = false, has_amount = false;
  for (auto [key, value] : *fields) {
    if (key == "customerId") {
      has_customer = true;
      if (auto s = json::ReadTrimmedText(value, "customerId", 1, kMaxIdLength, errors)) {
        in.customer_id = std::move(*s);
      }
    } else if (key == "orderId") {
      if (value.is_null()) continue;
      if (auto s = json::ReadTrimmedText(value, "orderId", 1, kMaxIdLength, errors)) {
        in.order_id = std::move(*s);
      }
    } else if (key == "paymentMethod") {
      has_method = true;
      std::string_view s;
      if (value.get(s) || !ParsePaymentMethod(s)) {
        errors.push_back({"paymentMethod", std::string(kMethodsMessage)});
      } else {
        in.method = *ParsePaymentMethod(s);
      }
    } else if (key == "amount") {
      has_amount = true;
      if (auto cents = ReadSignedAmount(value, errors)) in.amount_cents = *cents;
    } else if (key == "transactionDate") {
      std::string_view s;
      if (value.get(s)) {
        errors.push_back({"transactionDate", "Expected an ISO-8601 datetime string, got " +
                                                 std::string(json::TypeName(value))});
      } else if (auto t = ParseIso8601(s)) {
        in.transaction_date = *t;
      } else {
        errors.push_back({"transactionDate", std::string(kInvalidDatetimeMessage)});
      }
    } else {
      errors.push_back({std::string(key), "Unknown field"});
    }
  }
  if (!has_customer) errors.push_back({"customerId", "customerId is required"});
  if (!has_method) errors.push_back({"paymentMethod", "paymentMethod is required"});
  if (!has_amount) errors.push_back({"amount", "amount is required"});
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return in;
}

std::string EncodeTransactionRecorded(const Transaction& t) {
  JsonWriter w;
  w.BeginObject();
  w.Key("customerId").String(t.customer_id);
  if (t.order_id) w.Key("orderId").String(*t.order_id);
  w.Key("paymentMethod").String(PaymentMethodName(t.method));
  w.Key("amount").Cents(t.amount_cents);
  w.Key("transactionDate").String(FormatIso8601(t.transaction_date));
  w.EndObject();
  return w.Take();
}

Result<Transaction> DecodeTransactionRecorded(const EventEnvelope& event) {
  if (event.aggregate_type != kTransactionAggregate || event.type != kTransactionRecorded) {
    std::string got = "event expected, got ";
    got += event.aggregate_type;
    got += ' ';
    got += event.type;
    return Fail(Lost(got));
  }
  if (event.aggregate_version != 1) return Fail(Lost(event.aggregate_id + " recorded twice"));
  auto doc = json::Parse(event.payload, "Event payload", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  if (doc->type() != element_type::OBJECT) return Fail(Lost("payload is not an object"));
  Transaction t;
  if (auto st = ReadShared(*doc, t); !st) return Fail(st.error());
  t.id = event.aggregate_id;
  t.recorded_by = event.actor;
  t.recorded_at = event.occurred_at;
  return t;
}

std::string TransactionToJson(const Transaction& t) {
  JsonWriter w;
  w.BeginObject();
  w.Key("id").String(t.id);
  w.Key("customerId").String(t.customer_id);
  w.Key("orderId");
  t.order_id ? w.String(*t.order_id) : w.Null();
  w.Key("type").String(t.is_refund() ? "refund" : "payment");
  w.Key("paymentMethod").String(PaymentMethodName(t.method));
  w.Key("amount").Cents(t.amount_cents);
  w.Key("transactionDate").String(FormatIso8601(t.transaction_date));
  w.Key("recordedBy").String(t.recorded_by);
  w.Key("createdAt").String(FormatIso8601(t.recorded_at));
  w.EndObject();
  return w.Take();
}

Result<Transaction> TransactionFromJson(std::string_view json) {
  auto doc = json::Parse(json, "Transaction record", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  if (doc->type() != element_type::OBJECT) return Fail(Lost("record is not an object"));
  Transaction t;
  std::string_view s;
  if (doc->at_key("id").get(s) || s.empty()) return Fail(Lost("record without id"));
  t.id = std::string(s);
  if (auto st = ReadShared(*doc, t); !st) return Fail(st.error());
  if (doc->at_key("recordedBy").get(s)) return Fail(Lost("record without recordedBy"));
  t.recorded_by = std::string(s);
  if (doc->at_key("createdAt").get(s) || !ParseIso8601(s))
    return Fail(Lost("record without createdAt"));
  t.recorded_at = *ParseIso8601(s);
  return t;
}

}  // namespace keel
