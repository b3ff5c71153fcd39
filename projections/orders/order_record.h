// The orders read model's record of an order. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "domain/error.h"
#include "domain/order.h"

namespace keel {

// The read model's record of an order: a compact binary layout (about half the bytes of the
// JSON, and no text formatting for every order folded). DecodeOrderRecord also reads the JSON
// records of older read models; kDataLoss for anything else.
//
// The record also lists where the order's events sit in the log (partition, offset; oldest
// first): a customer's history finds its orders' events there, with no history entry of their
// own. Records written before it list none.
struct LogPosition {
  int32_t partition = 0;
  int64_t offset = 0;
  bool operator==(const LogPosition&) const = default;
};
std::string EncodeOrderRecord(const Order& order, const std::vector<LogPosition>& events = {});
Result<Order> DecodeOrderRecord(std::string_view record,
                                std::vector<LogPosition>* events = nullptr);

}  // namespace keel
