// The customer_promotions read model (issue 16): the promotions each customer was given, folded
// from the customers stream where assignments travel; key customer id/assignment id, so that a
// customer's list is one prefix scan, newest first (assignment ids are time-ordered). A status
// (available, used, expired) is computed when read: expiry depends on the clock, which a
// projection never reads. An OrderPlaced that redeemed an assignment marks it used (usedAt: the
// order's time; orderId). The projector holds no state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/promotion_assignment.h"
#include "domain/topics.h"
#include "infra/read_store.h"
#include "projections/projector.h"

namespace keel {

// customer id/assignment id → AssignmentToJson (without status).
inline constexpr std::string_view kCustomerPromotionsTable = "customer_promotions";

class CustomerPromotionsProjector final : public Projector {
 public:
  std::string_view name() const override { return "customer_promotions"; }
  std::vector<std::string_view> topics() const override { return {kCustomersTopic}; }
  std::vector<std::string> tables() const override {
    return {std::string(kCustomerPromotionsTable)};
  }
  // kDataLoss for an undecodable assignment or one made twice.
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) override;
  void Unapply(int32_t, int64_t) override {}  // remembers nothing
  // 2: orders that redeem an assignment mark it used (a store folded before is rebuilt).
  int format() const override { return 2; }
};

struct CustomerPromotionQuery {
  std::string customer_id;
  int page = 1;
  int limit = 20;
  std::optional<AssignmentStatus> status;  // at `now`
  Millis now = 0;
};

// A list reads at most this many of the customer's assignments: past it the page says
// `truncated`, and `total` counts the matches among those read.
inline constexpr int64_t kMaxCustomerPromotionsRead = 10'000;

struct CustomerPromotionPage {
  std::vector<PromotionAssignment> items;  // newest first
  int64_t total = 0;                       // every match (among the rows read: see `truncated`)
  bool truncated = false;                  // more than `max_read` rows would have been read
};

// Reads at most `max_read` of the customer's assignments, newest first. Thread-safe as the
// store is.
Result<CustomerPromotionPage> QueryCustomerPromotions(
    ReadStore& store, const CustomerPromotionQuery& query,
    int64_t max_read = kMaxCustomerPromotionsRead);

}  // namespace keel
