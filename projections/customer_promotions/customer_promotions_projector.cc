#include "projections/customer_promotions/customer_promotions_projector.h"

#include "projections/orders/orders_projector.h"

namespace keel {
namespace {

std::string Key(std::string_view customer_id, std::string_view assignment_id) {
  std::string key(customer_id);
  key += '/';
  key += assignment_id;
  return key;
}

// An order that redeemed an assignment: the assignment is used, by it, when it was placed.
Status ApplyRedemption(const EventEnvelope& event, const EventPosition& position, StateView& view,
                       std::vector<StoreWrite>& writes) {
  auto change = OrderChangeOf(event, position);  // decoded once for every projector
  if (!change) return Fail(change.error());
  if (!(*change)->placed || !(*change)->promotion) return {};
  const std::string& id = (*change)->promotion->assignment_id;
  const std::string key = Key((*change)->customer_id, id);
  auto stored = view.Get(kCustomerPromotionsTable, key);
  if (!stored) return Fail(stored.error());
  std::string why = "Order " + event.aggregate_id + " redeems promotion assignment " + id;
  if (!*stored) return Fail(Error::DataLoss(why + ", which its customer does not hold"));
  auto assignment = AssignmentFromJson(**stored);
  if (!assignment) return Fail(assignment.error());
  if (assignment->used_at) return Fail(Error::DataLoss(why + ", used already"));
  assignment->used_at = event.occurred_at;
  assignment->order_id = event.aggregate_id;
  writes.push_back({kCustomerPromotionsTable, key, AssignmentToJson(*assignment)});
  return {};
}

}  // namespace

Status CustomerPromotionsProjector::Apply(const EventEnvelope& event, const EventPosition& position,
                                          StateView& view, std::vector<StoreWrite>& writes) {
  if (event.aggregate_type == kOrderAggregate && event.type == kOrderPlaced) {
    return ApplyRedemption(event, position, view, writes);
  }
  if (event.aggregate_type != kPromotionAssignmentAggregate) return {};
  auto assignment = DecodePromotionAssigned(event);
  if (!assignment) return Fail(assignment.error());
  const std::string key = Key(assignment->customer_id, assignment->id);
  auto stored = view.Get(kCustomerPromotionsTable, key);
  if (!stored) return Fail(stored.error());
  if (*stored) {
    return Fail(Error::DataLoss("Promotion assignment " + assignment->id + " was made twice"));
  }
  writes.push_back({kCustomerPromotionsTable, key, AssignmentToJson(*assignment)});
  return {};
}

Result<CustomerPromotionPage> QueryCustomerPromotions(ReadStore& store,
                                                      const CustomerPromotionQuery& q,
                                                      int64_t max_read) {
  CustomerPromotionPage page;
  const size_t skip = static_cast<size_t>(q.page - 1) * static_cast<size_t>(q.limit);
  Status bad;
  int64_t read = 0;
  auto st = store.ScanReverse(kCustomerPromotionsTable, Key(q.customer_id, ""), "",
                              [&](std::string_view, std::string_view v) {
                                if (read++ >= max_read) {
                                  page.truncated = true;
                                  return false;
                                }
                                auto a = AssignmentFromJson(v);
                                if (!a) {
                                  bad = Fail(a.error());
                                  return false;
                                }
                                if (q.status && a->StatusAt(q.now) != *q.status) return true;
                                if (static_cast<size_t>(page.total++) >= skip &&
                                    page.items.size() < static_cast<size_t>(q.limit)) {
                                  page.items.push_back(std::move(*a));
                                }
                                return true;
                              });
  if (!st) return Fail(st.error());
  if (!bad) return Fail(bad.error());
  return page;
}

}  // namespace keel
