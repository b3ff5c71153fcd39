#include "projections/customer_history/history_projector.h"

#include <algorithm>
#include <map>

#include "domain/customer.h"
#include "domain/numbers.h"
#include "domain/promotion_assignment.h"
#include "domain/transaction.h"
#include "projections/counters.h"
#include "projections/orders/order_queries.h"
#include "projections/orders/orders_projector.h"

namespace keel {

// The history points into the log instead of copying each event (the copy was half of the
// bytes the projection wrote): key customer/offset, value the partition. A customer's events
// all share one partition, so the offset orders them.
Status CustomerHistoryProjector::Apply(const EventEnvelope& event, const EventPosition& position,
                                       StateView&, std::vector<StoreWrite>& writes) {
  std::string customer_id;
  if (event.aggregate_type == kCustomerAggregate ||
      event.aggregate_type == kCustomerStandingAggregate) {
    customer_id = event.aggregate_id;  // its own events, and the level keeper's about it
  } else if (event.aggregate_type == kTransactionAggregate) {
    // A payment or refund is the customer's too: an entry under the customer it names.
    auto transaction = DecodeTransactionRecorded(event);
    if (!transaction) return Fail(transaction.error());
    customer_id = std::move(transaction->customer_id);
  } else if (event.aggregate_type == kPromotionAssignmentAggregate) {
    // So is a promotion they were given.
    auto assignment = DecodePromotionAssigned(event);
    if (!assignment) return Fail(assignment.error());
    customer_id = std::move(assignment->customer_id);
  } else if (event.aggregate_type == kCustomerReferralAggregate) {
    // And a referral: qualified, under the referred customer (appended with their order);
    // credited, under the referrer (appended under the referrer's key, so in their partition).
    auto referral = DecodeReferral(event);
    if (!referral) return Fail(referral.error());
    customer_id = event.type == kReferralQualified ? std::move(referral->referred_id)
                                                   : std::move(referral->referrer_id);
  } else {
    return {};
  }
  writes.push_back({kCustomerEventsTable, customer_id + "/" + Digits20(position.offset),
                    std::to_string(position.partition)});
  return {};
}

Result<std::vector<std::string>> QueryCustomerEvents(ReadStore& store, EventLog& log,
                                                     std::string_view id) {
  // The customer's own events from its history entries; its orders' events from their records
  // (read models built before that have history entries for those too). Served in log order.
  struct Entry {
    int64_t offset;
    int32_t partition;  // -1: an entry that holds the event itself
    std::string event;  // that event
  };
  std::vector<Entry> entries;
  const std::string prefix = std::string(id) + "/";
  Status bad;
  auto st =
      store.Scan(kCustomerEventsTable, prefix, "", [&](std::string_view key, std::string_view v) {
        auto offset = ParseInt64(key.substr(prefix.size()));
        if (!v.empty() && v.front() == '{') {  // a read model built before the history pointed
          entries.push_back({offset.value_or(0), -1, std::string(v)});
          return true;
        }
        auto partition = ParseInt64(v);
        if (!partition || !offset || *partition < 0 || *partition >= log.PartitionCount()) {
          bad = Fail(Error::DataLoss("Unreadable history entry " + std::string(key)));
          return false;
        }
        entries.push_back({*offset, static_cast<int32_t>(*partition), {}});
        return true;
      });
  if (!st) return Fail(st.error());
  if (!bad) return Fail(bad.error());
  auto orders = QueryOrderIdsOfCustomer(store, id);
  if (!orders) return Fail(orders.error());
  std::vector<LogPosition> positions;
  for (const auto& order_id : *orders) {
    auto record = store.Get(kOrdersTable, order_id);
    if (!record) return Fail(record.error());
    if (!*record) return Fail(Error::DataLoss("Order " + order_id + " is indexed but not stored"));
    if (auto order = DecodeOrderRecord(**record, &positions); !order) return Fail(order.error());
    for (const LogPosition& at : positions) {
      if (at.partition < 0 || at.partition >= log.PartitionCount() || at.offset < 0) {
        return Fail(Error::DataLoss("Order " + order_id + " points outside the log"));
      }
      entries.push_back({at.offset, at.partition, {}});
    }
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.offset != b.offset ? a.offset < b.offset : a.partition < b.partition;
  });
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [](const Entry& a, const Entry& b) {
                              return a.partition >= 0 && a.offset == b.offset &&
                                     a.partition == b.partition;
                            }),
                entries.end());

  std::vector<std::string> events(entries.size());
  // Per partition (one, unless the log was re-partitioned), the offsets to read (ascending)
  // and the slots of `events` they fill.
  std::map<int32_t, std::pair<std::vector<int64_t>, std::vector<size_t>>> wanted;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].partition < 0) {
      events[i] = std::move(entries[i].event);
      continue;
    }
    auto& [offsets, slots] = wanted[entries[i].partition];
    offsets.push_back(entries[i].offset);
    slots.push_back(i);
  }
  for (auto& [partition, want] : wanted) {
    auto records = log.ReadAt(std::string(kCustomersTopic), partition, want.first);
    if (!records) return Fail(records.error());
    for (size_t i = 0; i < records->size(); ++i)
      events[want.second[i]] = std::move((*records)[i].value);
  }
  return events;
}

}  // namespace keel
