// Customer commands: the write-side state they read and the pure decide functions
// (state, command) → events | error. No I/O; the caller serialises access to the state and
// appends the events.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "domain/customer.h"
#include "domain/error.h"
#include "domain/event.h"
#include "domain/ids.h"

namespace keel {

// Who asked, when, and under which request: copied into every event's envelope.
struct CommandMeta {
  Millis now = 0;
  std::string actor;
  std::string correlation_id;
  std::string causation_id;
  std::string idempotency_key;
};

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
  const Customer* Find(std::string_view id) const;
  // The id of the customer holding `email` (normalised), active or not.
  std::optional<std::string> OwnerOfEmail(std::string_view email) const;
  // Folds one event in; the same fold as the read model.
  Status Apply(const EventEnvelope& event);
  size_t size() const { return customers_.size(); }

 private:
  std::unordered_map<std::string, Customer> customers_;
  std::unordered_map<std::string, std::string> email_owner_;
};

// Each returns the events to append (possibly none: the command changes nothing) or the
// error: kAlreadyExists for a taken email, kNotFound, kAborted for a stale expected version.
Result<std::vector<EventEnvelope>> DecideRegister(const CustomerWriteModel& state,
                                                  const RegisterCustomer& cmd,
                                                  const CommandMeta& meta, IdGenerator& ids);
Result<std::vector<EventEnvelope>> DecideUpdate(const CustomerWriteModel& state,
                                                const UpdateCustomer& cmd,
                                                const CommandMeta& meta, IdGenerator& ids);
Result<std::vector<EventEnvelope>> DecideDeactivate(const CustomerWriteModel& state,
                                                    const DeactivateCustomer& cmd,
                                                    const CommandMeta& meta, IdGenerator& ids);

}  // namespace keel
