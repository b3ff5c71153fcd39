// Order commands: the orders' write-side state and the pure decide functions. No I/O; the
// caller serialises access and appends the events under the order's customer key.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "commands/command_meta.h"
#include "commands/customer_commands.h"
#include "commands/promotion_assignment_commands.h"
#include "domain/order.h"

namespace keel {

struct PlaceOrder {
  OrderInput input;
};

// How a placement finds the product an item names: nullopt for an id the catalogue does not
// have; an error (kUnavailable while the catalogue is loading) refuses the placement with it.
using ProductLookup = std::function<Result<std::optional<Product>>(const std::string& id)>;

struct ChangeOrderStatus {
  std::string id;
  OrderStatus to = OrderStatus::kPending;
  std::optional<int64_t> expected_version;
};

// Every order's current state, consistent with the log, compact: it holds every order in
// memory (about 140 bytes each). Items are not kept: they never change after placement and the
// read model has them. Not thread-safe.
class OrderWriteModel {
 public:
  struct Entry {
    const std::string* customer_id = nullptr;  // the customer's id in the CustomerWriteModel
    int64_t amount_cents = 0;
    Millis order_date = 0;
    Millis created_at = 0;
    Millis updated_at = 0;
    int32_t version = 0;
    OrderStatus status = OrderStatus::kPending;
    bool has_external_id = false;
    std::string external_id;  // short ones need no allocation
  };

  OrderWriteModel() { by_uuid_.reserve(1 << 20); }
  const Entry* Find(std::string_view id) const;
  // Folds an order event; `customer_id` must outlive the model (the write model's customers
  // are never removed, and their map nodes never move).
  Status Apply(const EventEnvelope& event, const OrderChange& change,
               const std::string* customer_id);
  // The order as the API shows it (OrderToJson), but with "items": null: the caller fills them
  // in from the read model (FillOrderItems).
  static std::string ToJson(std::string_view id, const Entry& entry);
  size_t size() const { return by_uuid_.size() + by_name_.size(); }

  // The snapshot form (write_model_snapshot.cc): each order's customer is written as its
  // number in CustomerWriteModel::Save's `ordinals`, and restored from `ids`.
  // Save is false for an order whose customer has no number (then the bytes are no snapshot).
  bool Save(SnapshotWriter& out,
            const std::unordered_map<const std::string*, uint64_t>& ordinals) const;
  bool Restore(SnapshotReader& in, const std::vector<const std::string*>& ids);
  // Whether both hold the same orders, each of the same customer (tests).
  bool SameAs(const OrderWriteModel& other) const;

 private:
  // Order ids are UUIDs (Keel's v7, or v8 from an external id), kept as 16 bytes; any other id
  // (from an imported log) falls back to its text.
  struct Uuid {
    uint64_t hi = 0, lo = 0;
    bool operator==(const Uuid&) const = default;
  };
  struct UuidHash {
    size_t operator()(const Uuid& u) const { return static_cast<size_t>(u.hi ^ (u.lo * 0x9e3779b97f4a7c15ULL)); }
  };
  static std::optional<Uuid> ParseUuid(std::string_view id);
  // `uuid`: ParseUuid(id).
  Entry* FindMutable(std::string_view id, const std::optional<Uuid>& uuid);

  std::unordered_map<Uuid, Entry, UuidHash> by_uuid_;
  std::unordered_map<std::string, Entry> by_name_;
};

// The id of the order a client calls `external_id`: the same for every re-send, so that a
// re-sent order is recognised without an index of external ids.
std::string OrderIdForExternalId(std::string_view external_id);

// What a placement decided: the order's id, the customer whose stream the events belong on,
// and the events (none, and `duplicate`, when the order with this external id exists already).
struct OrderDecision {
  std::string order_id;
  std::string customer_id;
  bool duplicate = false;
  std::vector<EventEnvelope> events;
  std::optional<Order> placed;  // the new order as placed, items included
};

// kInvalidArgument naming customerId for an unknown or inactive customer, or orderAmount for an
// order that would take the customer's total spending past kMaxCustomerSpendingCents (a
// cancelled one does not count); kAlreadyExists when the external id belongs to another
// customer's order.
//
// Items by product are priced from `products` (PricedItem) once the order is known to be new
// (a re-sent external id is a duplicate whatever its products have become): kInvalidArgument
// naming items[i].productId for each unknown or inactive product, orderAmount when the amount
// given is not the priced items' sum (OrderItemsTotal), items when that sum is 0 or too large;
// kUnavailable without `products`.
//
// An order that redeems a promotion assignment (input.promotion_assignment_id) takes its
// discount off the gross amount (the priced items' sum, or the amount given), as
// DecideRedemption says and refuses, and its OrderPlaced records it (v3); the assignment is then
// used. Without `assignments` no assignment is known.
Result<OrderDecision> DecidePlaceOrder(const CustomerWriteModel& customers,
                                       const OrderWriteModel& orders, const PlaceOrder& cmd,
                                       const CommandMeta& meta, IdGenerator& ids,
                                       const ProductLookup& products = {},
                                       const AssignmentWriteModel* assignments = nullptr);
// kNotFound; kAborted for a stale expected version; kFailedPrecondition for a transition the
// state machine forbids (the message names both states). No events when the order is in
// `to` already.
Result<std::vector<EventEnvelope>> DecideChangeOrderStatus(const OrderWriteModel& orders,
                                                           const ChangeOrderStatus& cmd,
                                                           const CommandMeta& meta,
                                                           IdGenerator& ids);

}  // namespace keel
