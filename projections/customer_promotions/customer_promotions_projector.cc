#include "projections/customer_promotions/customer_promotions_projector.h"

namespace keel {
namespace {

std::string Key(std::string_view customer_id, std::string_view assignment_id) {
  std::string key(customer_id);
  key += '/';
  key += assignment_id;
  return key;
}

}  // namespace

Status CustomerPromotionsProjector::Apply(const EventEnvelope& event, const EventPosition&,
                                          StateView& view, std::vector<StoreWrite>& writes) {
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
