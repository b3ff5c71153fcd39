#include "projections/customers/customer_records.h"

#include <iterator>

#include "projections/binary.h"

namespace keel {
namespace {

// Format 1: the figures alone. Format 2: followed by the recorded loyalty standing (recency,
// frequency, monetary, level: a byte each) and its version, for a customer that has one.
constexpr char kFiguresFormat = 1;
constexpr char kFiguresWithStandingFormat = 2;
constexpr size_t kFiguresFields = 10;
constexpr size_t kFiguresBytes = 2 + 8 * kFiguresFields;
constexpr size_t kStandingBytes = 4 + 8;

}  // namespace

std::string EncodeCustomerFigures(const Customer& c) {
  std::string out;
  const bool standing = c.standing_version > 0;
  out.reserve(kFiguresBytes + (standing ? kStandingBytes : 0));
  out.push_back(standing ? kFiguresWithStandingFormat : kFiguresFormat);
  const std::optional<Millis>* times[] = {&c.last_visit, &c.stats.first_order_at,
                                          &c.stats.last_order_at, &c.stats.last_activity};
  char present = 0;
  for (size_t i = 0; i < std::size(times); ++i) {
    if (times[i]->has_value()) present = static_cast<char>(present | (1 << i));
  }
  out.push_back(present);
  for (int64_t v :
       {c.total_spending_cents, c.visits, c.last_visit.value_or(0), c.stats.order_count,
        c.stats.order_cents, c.stats.recorded_visits, c.stats.first_order_at.value_or(0),
        c.stats.last_order_at.value_or(0), c.stats.last_activity.value_or(0), c.stats.revision}) {
    PutI64(out, v);
  }
  if (standing) {
    for (uint8_t b : {c.standing.recency, c.standing.frequency, c.standing.monetary,
                      static_cast<uint8_t>(c.standing.level)}) {
      out.push_back(static_cast<char>(b));
    }
    PutI64(out, c.standing_version);
  }
  return out;
}

Status DecodeCustomerFigures(std::string_view record, Customer& c) {
  BinaryReader in(record);
  const uint8_t format = in.Byte();
  const uint8_t present = in.Byte();
  int64_t v[kFiguresFields];
  for (int64_t& field : v) field = in.I64();
  LoyaltyStanding standing;
  int64_t standing_version = 0;
  bool standing_ok = true;
  if (format == kFiguresWithStandingFormat) {
    standing.recency = in.Byte();
    standing.frequency = in.Byte();
    standing.monetary = in.Byte();
    const uint8_t level = in.Byte();
    standing_version = in.I64();
    standing.level = static_cast<LoyaltyLevel>(level);
    for (uint8_t score : {standing.recency, standing.frequency, standing.monetary}) {
      standing_ok = standing_ok && score >= 1 && score <= 5;
    }
    standing_ok = standing_ok && level < kLoyaltyLevels && standing_version > 0;
  }
  if (in.bad() || !in.done() || !standing_ok ||
      (format != kFiguresFormat && format != kFiguresWithStandingFormat) ||
      (present & ~0x0fu) != 0) {
    return Fail(Error::DataLoss("Customer figures record of " + std::to_string(record.size()) +
                                " bytes is unreadable"));
  }
  auto time = [&](int bit, int64_t value) {
    return (present & (1u << bit)) ? std::optional<Millis>(value) : std::nullopt;
  };
  c.total_spending_cents = v[0];
  c.visits = v[1];
  c.last_visit = time(0, v[2]);
  c.stats.order_count = v[3];
  c.stats.order_cents = v[4];
  c.stats.recorded_visits = v[5];
  c.stats.first_order_at = time(1, v[6]);
  c.stats.last_order_at = time(2, v[7]);
  c.stats.last_activity = time(3, v[8]);
  c.stats.revision = v[9];
  c.standing = standing;
  c.standing_version = standing_version;
  return {};
}

}  // namespace keel
