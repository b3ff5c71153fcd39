// WriteModel: everything the commands of the customers stream read (customers with their
// stats, orders, what was paid on them, the promotions they were given), folded from that stream in
// log order. Not thread-safe; the command service serialises access.
#pragma once

#include "commands/customer_commands.h"
#include "commands/order_commands.h"
#include "commands/promotion_assignment_commands.h"
#include "commands/transaction_commands.h"
#include "domain/partition_markers.h"

namespace keel {

struct WriteModel {
  CustomerWriteModel customers;
  OrderWriteModel orders;
  PaymentWriteModel payments;
  AssignmentWriteModel assignments;

  // Folds one event of the stream (already checked with CheckSupport); kDataLoss when it does
  // not apply. An order event moves the order and its customer's stats together, or neither.
  Status Apply(const EventEnvelope& event) {
    if (IsPartitionMarker(event)) return {};  // for the membership read model alone
    if (event.aggregate_type == kOrderAggregate) {
      auto change = DecodeOrderChange(event);
      if (!change) return Fail(change.error());
      return ApplyOrder(event, *change);
    }
    if (event.aggregate_type == kTransactionAggregate) {
      auto transaction = DecodeTransactionRecorded(event);
      if (!transaction) return Fail(transaction.error());
      return payments.Apply(*transaction);
    }
    if (event.aggregate_type == kPromotionAssignmentAggregate) {
      auto assignment = DecodePromotionAssigned(event);
      if (!assignment) return Fail(assignment.error());
      return assignments.Apply(*assignment);
    }
    if (event.aggregate_type == kCustomerStandingAggregate) return customers.ApplyStanding(event);
    if (event.aggregate_type == kCustomerReferralAggregate) return assignments.ApplyReferral(event);
    return customers.Apply(event);
  }

  // An order event whose change is known (a command just decided it): not decoded again.
  Status ApplyOrder(const EventEnvelope& event, const OrderChange& change) {
    const Customer* customer = customers.Find(change.customer_id);
    if (!customer) {
      return Fail(Error::DataLoss("Order event for unknown customer " + change.customer_id));
    }
    // The stats first on a copy: an order they refuse must not reach the orders either.
    CustomerStats stats = customer->stats;
    if (auto st = ApplyOrderToStats(stats, change); !st) return st;
    // The promotion it redeems must be the customer's and unused: an order that would use one
    // twice does not fold at all.
    const bool redeems = change.placed && change.promotion;
    if (redeems) {
      auto st = assignments.CheckRedeemable(change.promotion->assignment_id, customer->id);
      if (!st) return st;
    }
    if (auto st = orders.Apply(event, change, &customer->id); !st) return st;
    if (redeems) assignments.MarkUsed(change.promotion->assignment_id);
    return customers.ApplyOrder(change);
  }

  // The snapshot form (write_model_snapshot.cc); Save is false when the model is inconsistent
  // (no snapshot of it), Restore (into an empty model) for bytes Save did not write.
  bool Save(SnapshotWriter& out) const;
  bool Restore(SnapshotReader& in);
  bool SameAs(const WriteModel& other) const {
    return customers.SameAs(other.customers) && orders.SameAs(other.orders) &&
           payments.SameAs(other.payments) && assignments.SameAs(other.assignments);
  }
};

}  // namespace keel
