// Customer commands: the write-side state they read and the pure decide functions
// (state, command) → events | error. No I/O; the caller serialises access to the state and
// appends the events.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "commands/command_meta.h"
#include "commands/snapshot_codec.h"
#include "domain/customer.h"
#include "domain/error.h"
#include "domain/event.h"
#include "domain/ids.h"
#include "domain/order.h"

namespace keel {

struct RegisterCustomer {
  std::string new_id;
  CustomerFields fields;  // name and email present
};

struct UpdateCustomer {
  std::string id;
  CustomerFields fields;
  bool replace = false;  // PUT: absent optional fields return to their defaults
  std::optional<int64_t> expected_version;
};

struct DeactivateCustomer {
  std::string id;
  std::optional<int64_t> expected_version;
};

// Unsubscribe (true) or resubscribe (false): no event when the customer is already so.
struct ChangeSubscription {
  std::string id;
  bool unsubscribe = true;
};

struct RecordVisit {
  std::string id;
  std::optional<Millis> visited_at;  // default: now
};

// What customer validation needs: every customer's current state and the email index,
// consistent with the log. Not thread-safe.
class CustomerWriteModel {
 public:
  // Sized for a million customers up front: growing a hash map rehashes every entry, and that
  // stall would land on whichever command happened to trigger it.
  CustomerWriteModel() {
    customers_.reserve(1 << 20);
    email_owner_.reserve(1 << 20);
  }
  // Moved, never copied: the email index (and the order model) point into customers_.
  CustomerWriteModel(const CustomerWriteModel&) = delete;
  CustomerWriteModel& operator=(const CustomerWriteModel&) = delete;
  CustomerWriteModel(CustomerWriteModel&&) = default;
  CustomerWriteModel& operator=(CustomerWriteModel&&) = default;
  const Customer* Find(std::string_view id) const;
  // The customer holding `email` (normalised), active or not; nullptr when none. Valid until
  // the next Apply.
  const Customer* FindByEmail(std::string_view email) const;
  // Its id.
  const std::string* OwnerOfEmail(std::string_view email) const;
  // Folds one customer event in; the same fold as the read model.
  Status Apply(const EventEnvelope& event);
  // Makes the email index say again who holds each email now. A fold from the log reads the
  // partitions interleaved in any order, so an email that moved from one customer to another
  // may have been released by its old holder's later event after its new holder took it. An
  // entry whose customer still holds the email stays (an imported log may give two customers
  // one email); every other email gets a holder. Called after every fold from the log.
  void RepairEmailIndex();
  // Folds a CustomerLevelChanged or CustomerScoresChanged into its customer.
  Status ApplyStanding(const EventEnvelope& event);
  // Folds an order event into its customer's stats; kDataLoss for an unknown customer, or for
  // stats the order would overflow (then unchanged).
  Status ApplyOrder(const OrderChange& change);
  size_t size() const { return customers_.size(); }

  // The snapshot form (write_model_snapshot.cc). Save numbers the customers in the order it
  // writes them and gives each one's number by its id's address in `ordinals` (for the
  // orders, which point at their customer's id). Restore fills an empty model from what Save
  // wrote and gives each number's id address in `ids`; false for bytes Save did not write.
  void Save(SnapshotWriter& out, std::unordered_map<const std::string*, uint64_t>& ordinals) const;
  bool Restore(SnapshotReader& in, std::vector<const std::string*>& ids);
  // Whether both hold the same customers with the same email owners (tests).
  bool SameAs(const CustomerWriteModel& other) const;

 private:
  // Looked up by string_view without making a std::string of the key (an allocation for
  // every id and email: three of them for every order).
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Customer, TextHash, std::equal_to<>> customers_;
  // Email → its customer's entry in customers_ (whose nodes never move): an order given by
  // email finds its customer in one lookup, not two.
  std::unordered_map<std::string, const Customer*, TextHash, std::equal_to<>> email_owner_;
};

// Each returns the events to append (possibly none: the command changes nothing) or the
// error: kAlreadyExists for a taken email, kNotFound, kAborted for a stale expected version,
// kInvalidArgument naming totalSpending for a baseline raised past kMaxCustomerSpendingCents
// with the customer's orders; kInvalidArgument naming the field for a birthDate after the day
// of meta.now, a referredBy that is not another existing customer, an illegal status change
// (IsLegalStatusChange) or a COMPANY left without companyName. An update that changes the
// status appends CustomerStatusChanged after the CustomerUpdated of the other fields; a PATCH
// of firstName or lastName without name derives the name again (NameFromParts).
Result<std::vector<EventEnvelope>> DecideRegister(const CustomerWriteModel& state,
                                                  const RegisterCustomer& cmd,
                                                  const CommandMeta& meta, IdGenerator& ids);
Result<std::vector<EventEnvelope>> DecideUpdate(const CustomerWriteModel& state,
                                                const UpdateCustomer& cmd,
                                                const CommandMeta& meta, IdGenerator& ids);
Result<std::vector<EventEnvelope>> DecideDeactivate(const CustomerWriteModel& state,
                                                    const DeactivateCustomer& cmd,
                                                    const CommandMeta& meta, IdGenerator& ids);
Result<std::vector<EventEnvelope>> DecideRecordVisit(const CustomerWriteModel& state,
                                                     const RecordVisit& cmd,
                                                     const CommandMeta& meta, IdGenerator& ids);
// kNotFound for an unknown customer; nothing when it is already as asked.
Result<std::vector<EventEnvelope>> DecideChangeSubscription(const CustomerWriteModel& state,
                                                            const ChangeSubscription& cmd,
                                                            const CommandMeta& meta,
                                                            IdGenerator& ids);

}  // namespace keel
