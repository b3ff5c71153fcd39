// Transaction commands (payments and refunds, issue 16): what the customers stream's write model
// keeps of them and the pure decide function. No I/O; the caller serialises access and appends
// the events under the customer's key, on the customers stream, so that an order, its status
// and every payment on it are decided against one model in log order.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "commands/command_meta.h"
#include "commands/customer_commands.h"
#include "commands/order_commands.h"
#include "commands/snapshot_codec.h"
#include "domain/transaction.h"

namespace keel {

struct RecordTransaction {
  TransactionInput input;
};

// What was paid, net of refunds, on each order with a transaction and on each customer's
// account (transactions without an order): what a refund is capped by and what a payment may
// still settle. Transactions themselves are not kept (they never change; the read model has
// them). Not thread-safe.
class PaymentWriteModel {
 public:
  int64_t NetPaidOnOrder(std::string_view order_id) const;
  int64_t NetPaidOnAccount(std::string_view customer_id) const;
  // Folds a recorded transaction; kDataLoss when a net sum would pass int64.
  Status Apply(const Transaction& transaction);

  // The snapshot form (write_model_snapshot.cc).
  void Save(SnapshotWriter& out) const;
  bool Restore(SnapshotReader& in);
  bool SameAs(const PaymentWriteModel& other) const {
    return by_order_ == other.by_order_ && on_account_ == other.on_account_;
  }

 private:
  std::unordered_map<std::string, int64_t> by_order_;    // order id → net paid
  std::unordered_map<std::string, int64_t> on_account_;  // customer id → net paid on account
};

struct TransactionDecision {
  Transaction transaction;  // as recorded
  std::vector<EventEnvelope> events;
};

// kInvalidArgument naming
// - customerId for an unknown customer (an inactive one may still pay and be paid back);
// - orderId for an order that is not the customer's (or does not exist), or a payment on a
//   cancelled order (it takes refunds only);
// - amount for a payment beyond the order's outstanding balance (its amount less what was paid
//   net), or a refund beyond what was paid net on the order (or, without an order, on the
//   customer's account);
// - transactionDate more than kMaxTransactionDateAhead after the command's clock.
// The transaction's id is `id`.
Result<TransactionDecision> DecideRecordTransaction(const CustomerWriteModel& customers,
                                                    const OrderWriteModel& orders,
                                                    const PaymentWriteModel& payments,
                                                    const RecordTransaction& cmd, std::string id,
                                                    const CommandMeta& meta, IdGenerator& ids);

}  // namespace keel
