#include "domain/transaction.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

constexpr Millis kNow = 1'800'000'000'000;

std::vector<std::string> Fields(const Error& e) {
  std::vector<std::string> out;
  for (const auto& f : e.field_errors) out.push_back(f.field);
  return out;
}

EventEnvelope Recorded(std::string payload, int64_t version = 1) {
  EventEnvelope e;
  e.type = std::string(kTransactionRecorded);
  e.aggregate_type = std::string(kTransactionAggregate);
  e.aggregate_id = "t1";
  e.aggregate_version = version;
  e.occurred_at = kNow;
  e.actor = "u1";
  e.payload = std::move(payload);
  return e;
}

TEST(TransactionInputTest, APaymentIsParsedInCents) {
  auto in = ParseTransactionInput(
      R"({"customerId":" c1 ","orderId":"o1","paymentMethod":"card","amount":12.5,)"
      R"("transactionDate":"2026-03-01T10:00:00Z"})");
  ASSERT_TRUE(in) << in.error().message;
  EXPECT_EQ(in->customer_id, "c1");
  EXPECT_EQ(in->order_id, "o1");
  EXPECT_EQ(in->method, PaymentMethod::kCard);
  EXPECT_EQ(in->amount_cents, 1250);
  EXPECT_EQ(in->transaction_date, ParseIso8601("2026-03-01T10:00:00Z"));
}

TEST(TransactionInputTest, ARefundIsANegativeAmountAndTheOrderAndDateAreOptional) {
  auto in = ParseTransactionInput(
      R"({"customerId":"c1","orderId":null,"paymentMethod":"transfer","amount":-20})");
  ASSERT_TRUE(in) << in.error().message;
  EXPECT_EQ(in->amount_cents, -2000);
  EXPECT_FALSE(in->order_id);
  EXPECT_FALSE(in->transaction_date);
}

TEST(TransactionInputTest, EveryViolationIsNamed) {
  auto in = ParseTransactionInput(
      R"({"orderId":"","paymentMethod":"cheque","amount":0,"transactionDate":"yesterday","tip":1})");
  ASSERT_FALSE(in);
  EXPECT_EQ(in.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Fields(in.error()), (std::vector<std::string>{"orderId", "paymentMethod", "amount",
                                                          "transactionDate", "tip", "customerId"}));
  auto missing = ParseTransactionInput(R"({"customerId":"c1"})");
  ASSERT_FALSE(missing);
  EXPECT_EQ(Fields(missing.error()), (std::vector<std::string>{"paymentMethod", "amount"}));
}

TEST(TransactionInputTest, AmountsAreBoundedAndHaveAtMostTwoDecimals) {
  for (const char* amount : {"1.005", "1e13", "-1e13", "\"5\"", "true"}) {
    auto in = ParseTransactionInput(
        std::string(R"({"customerId":"c1","paymentMethod":"cash","amount":)") + amount + "}");
    ASSERT_FALSE(in) << amount;
    EXPECT_EQ(Fields(in.error()), (std::vector<std::string>{"amount"})) << amount;
  }
  auto most = ParseTransactionInput(
      R"({"customerId":"c1","paymentMethod":"other","amount":-1000000000000})");
  ASSERT_TRUE(most);
  EXPECT_EQ(most->amount_cents, -100'000'000'000'000);
}

TEST(TransactionInputTest, ABodyThatIsNoObjectIsRefused) {
  EXPECT_EQ(ParseTransactionInput("[]").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ParseTransactionInput("{").error().code, ErrorCode::kInvalidArgument);
}

TEST(TransactionCodecTest, TheEventAndTheDocumentRoundTrip) {
  Transaction t{.id = "t1",
                .customer_id = "c1",
                .order_id = "o1",
                .method = PaymentMethod::kTransfer,
                .amount_cents = -750,
                .transaction_date = kNow - 1000,
                .recorded_by = "u1",
                .recorded_at = kNow};
  auto decoded = DecodeTransactionRecorded(Recorded(EncodeTransactionRecorded(t)));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, t);
  const std::string doc = TransactionToJson(t);
  EXPECT_NE(doc.find(R"("type":"refund")"), std::string::npos) << doc;
  EXPECT_NE(doc.find(R"("amount":-7.50)"), std::string::npos) << doc;
  auto back = TransactionFromJson(doc);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, t);

  t.order_id.reset();
  t.amount_cents = 100;
  EXPECT_NE(TransactionToJson(t).find(R"("orderId":null,"type":"payment")"), std::string::npos);
  EXPECT_EQ(*TransactionFromJson(TransactionToJson(t)), t);
}

TEST(TransactionCodecTest, ABadEventIsDataLoss) {
  for (
      const char* payload :
      {R"({"paymentMethod":"cash","amount":1,"transactionDate":"2026-01-01T00:00:00Z"})",
       R"({"customerId":"c1","paymentMethod":"cash","amount":0,"transactionDate":"2026-01-01T00:00:00Z"})",
       R"({"customerId":"c1","paymentMethod":"gold","amount":1,"transactionDate":"2026-01-01T00:00:00Z"})",
       R"({"customerId":"c1","paymentMethod":"cash","amount":1})", "[]", "{"}) {
    auto t = DecodeTransactionRecorded(Recorded(payload));
    ASSERT_FALSE(t) << payload;
    EXPECT_EQ(t.error().code, ErrorCode::kDataLoss) << payload;
  }
  const std::string good =
      R"({"customerId":"c1","paymentMethod":"cash","amount":1,"transactionDate":"2026-01-01T00:00:00Z"})";
  EXPECT_TRUE(DecodeTransactionRecorded(Recorded(good)));
  auto twice = DecodeTransactionRecorded(Recorded(good, 2));
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, ErrorCode::kDataLoss);
}

}  // namespace
}  // namespace keel
