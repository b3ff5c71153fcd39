// The customer aggregate (seed 000): its state, its events, the validation of input and the one
// fold function that both the write side and the projector use. Pure; value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "domain/error.h"
#include "domain/event.h"
#include "domain/time.h"

namespace keel {

inline constexpr std::string_view kCustomerAggregate = "customer";
inline constexpr std::string_view kCustomerRegistered = "CustomerRegistered";
inline constexpr std::string_view kCustomerUpdated = "CustomerUpdated";
inline constexpr std::string_view kCustomerDeactivated = "CustomerDeactivated";
inline constexpr std::string_view kCustomerVisitRecorded = "CustomerVisitRecorded";
// {}: the customer asked for no more campaign messages (they stay a customer); campaigns launched
// from here on exclude them, counted as "unsubscribed". Resubscribed undoes it.
inline constexpr std::string_view kCustomerUnsubscribed = "CustomerUnsubscribed";
inline constexpr std::string_view kCustomerResubscribed = "CustomerResubscribed";
inline constexpr int kCustomerRegisteredVersion = 2;

inline constexpr int64_t kMaxCents = 100'000'000'000'000;  // 1e12 in currency units: one amount
// The most a customer's total spending (baseline plus orders not cancelled) may reach, 1e16 in
// currency units (10,000 orders of the largest amount): a command that would take it further is
// refused, so that a customer's figures stay far inside int64 cents.
inline constexpr int64_t kMaxCustomerSpendingCents = 1'000'000'000'000'000'000;

// What the customer's orders and recorded visits add to the imported baseline. Orders are
// their own aggregates on the customer's stream; their events move these without touching the
// customer's version.
struct CustomerStats {
  int64_t order_count = 0;   // orders not cancelled
  int64_t order_cents = 0;   // their amounts
  int64_t recorded_visits = 0;
  std::optional<Millis> first_order_at;  // over every order placed, cancelled ones included
  std::optional<Millis> last_order_at;   // never moves backwards
  std::optional<Millis> last_activity;   // latest order date or recorded visit
  int64_t revision = 0;  // stat changes folded so far: with the version, the customer's ETag

  bool operator==(const CustomerStats&) const = default;
};

struct Customer {
  std::string id;
  std::string name;
  std::string email;
  std::optional<std::string> phone;
  // The baseline: what the customer's commands set (imported history, spending before Keel).
  int64_t total_spending_cents = 0;
  int64_t visits = 0;
  std::optional<Millis> last_visit;
  bool is_active = true;
  bool unsubscribed = false;            // from campaign messages
  std::optional<std::string> owner_id;  // the user (sales rep) the customer is assigned to
  Millis created_at = 0;
  Millis updated_at = 0;
  int64_t version = 0;  // aggregate_version of the last event applied; 0: does not exist
  CustomerStats stats;

  bool operator==(const Customer&) const = default;
};

// The served figures: baseline plus orders plus recorded visits. Never overflow: a sum past
// int64 (only an imported log could hold one) is held at the limit.
int64_t TotalSpendingCents(const Customer& c);
int64_t TotalVisits(const Customer& c);
std::optional<Millis> LastVisit(const Customer& c);
int64_t AverageOrderCents(const Customer& c);  // 0 without orders; rounded half up

// Whether a baseline of `baseline_cents` and orders worth `order_cents`, plus `added_cents`,
// stay within kMaxCustomerSpendingCents.
bool WithinSpendingLimit(int64_t baseline_cents, int64_t order_cents, int64_t added_cents);
// The field error of a command refused for it.
std::string SpendingLimitMessage();

// A set of field values, each present or not. The payload of CustomerRegistered (all present)
// and CustomerUpdated (the changed ones), and the parsed form of a request body.
struct CustomerFields {
  std::optional<std::string> name;
  std::optional<std::string> email;
  std::optional<std::optional<std::string>> phone;  // present-and-null clears it
  std::optional<int64_t> total_spending_cents;
  std::optional<int64_t> visits;
  std::optional<std::optional<Millis>> last_visit;
  std::optional<bool> is_active;
  // Present-and-null unassigns. Not a profile field: a PUT that omits it keeps the owner.
  std::optional<std::optional<std::string>> owner_id;

  bool empty() const {
    return !name && !email && !phone && !total_spending_cents && !visits && !last_visit &&
           !is_active && !owner_id;
  }
  bool operator==(const CustomerFields&) const = default;
};

enum class CustomerInputMode {
  kCreate,   // POST: name and email required
  kReplace,  // PUT: name and email required; absent optional fields return to defaults
  kPatch,    // PATCH: every field optional, at least one
};

// Validates a request body (seed 000 rules): trims name, lowercases email, rejects unknown
// fields by name. Every violation is listed; the error is kInvalidArgument.
Result<CustomerFields> ParseCustomerInput(std::string_view body, CustomerInputMode mode);
// The same for an already parsed element (bulk ingestion parses each record once).
Result<CustomerFields> ParseCustomerInput(simdjson::dom::element record, CustomerInputMode mode);

// In kReplace mode the absent optional fields are filled with their defaults.
CustomerFields WithDefaults(CustomerFields fields);

std::string EncodeCustomerFields(const CustomerFields& fields);
// Decodes a payload from the log; kDataLoss when it does not hold valid fields.
Result<CustomerFields> DecodeCustomerFields(std::string_view payload);

// The fold. Applies one customer event to the state; kDataLoss when the payload is bad.
// The caller has already checked CheckSupport().
Status ApplyCustomerEvent(Customer& customer, const EventEnvelope& event);

// Payload of CustomerVisitRecorded: {"visitedAt": "<ISO-8601>"}.
std::string EncodeVisit(Millis visited_at);
Result<Millis> DecodeVisit(std::string_view payload);

// JSON representation, served by the API: the profile (id, name, email, phone, isActive,
// ownerId, createdAt, updatedAt, version), then the figures: the served ones at the top level
// (totalSpending, visits, lastVisit, orderCount, averageOrderValue, firstOrderAt, lastOrderAt),
// the baseline under "baseline", and the stats (orderSpending, recordedVisits, lastActivityAt,
// statsRevision).
std::string CustomerToJson(const Customer& customer);
// Reads the profile, and the figures when present (a served document, or a read-model record
// written before the figures were stored apart); without them the baseline and stats stay 0.
Result<Customer> CustomerFromJson(std::string_view json);

// The customer's profile alone (the read model keeps its figures apart:
// projections/customers/customer_records.h).
std::string CustomerProfileToJson(const Customer& customer);
// The served document of a stored profile and the customer's figures, without parsing the
// profile. A profile that still holds figures (a record of an older read model) is parsed and
// written again.
Result<std::string> ServedCustomerJson(std::string_view profile_json, const Customer& figures);
// Whether a stored customer record holds figures (a record of an older read model, or a served
// document) rather than the profile alone.
bool ProfileHoldsFigures(std::string_view json);

// Upcast of CustomerRegistered v1 (documented import format: defaults may be omitted, email
// and name not yet normalised) to v2.
Result<std::string> UpcastCustomerRegisteredV1(std::string_view payload);

std::string NormaliseEmail(std::string_view email);
// An address of the form local@domain.tld, at most 254 characters, already normalised.
bool IsValidEmail(std::string_view email);

}  // namespace keel
