// The customer aggregate (seed 000): its state, its events, the validation of input and the one
// fold function that both the write side and the projector use. Pure; value types.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/error.h"
#include "domain/event.h"
#include "domain/loyalty.h"
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
// {"from":"LEAD","to":"OPPORTUNITY"}: the customer moved along the sales pipeline (seed 002).
// Appended whenever an update changes the status, after the CustomerUpdated of the same command
// (if any). "A customer becomes CUSTOMER" is this event with to CUSTOMER, or a CustomerRegistered
// whose status is CUSTOMER (absent from its payload: CUSTOMER, the default).
inline constexpr std::string_view kCustomerStatusChanged = "CustomerStatusChanged";
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

// Where the customer stands in the sales pipeline (seed 002). A customer registered without a
// status, and every customer registered before statuses existed, is a CUSTOMER.
enum class CustomerStatus : uint8_t { kLead, kOpportunity, kCustomer, kChurned };
enum class CustomerType : uint8_t { kPerson, kCompany };

// "LEAD", "OPPORTUNITY", "CUSTOMER", "CHURNED"; "PERSON", "COMPANY". Parse: exact, upper case.
std::string_view CustomerStatusName(CustomerStatus status);
std::optional<CustomerStatus> ParseCustomerStatus(std::string_view name);
std::string_view CustomerTypeName(CustomerType type);
std::optional<CustomerType> ParseCustomerType(std::string_view name);

// The legal status changes: forward along LEAD → OPPORTUNITY → CUSTOMER (skipping a step is
// allowed: a lead may buy at once), from any status to CHURNED, and from CHURNED back to any
// (win-back). Moving backwards (CUSTOMER → LEAD, OPPORTUNITY → LEAD, ...) is refused.
// A status equal to the current one is no change, not an illegal one.
bool IsLegalStatusChange(CustomerStatus from, CustomerStatus to);

struct CustomerStatusChange {
  CustomerStatus from = CustomerStatus::kCustomer;
  CustomerStatus to = CustomerStatus::kCustomer;
  bool operator==(const CustomerStatusChange&) const = default;
};
std::string EncodeStatusChange(const CustomerStatusChange& change);
// kDataLoss for a payload without two known statuses.
Result<CustomerStatusChange> DecodeStatusChange(std::string_view payload);

// Limits of the seed-002 fields, in characters after trimming (tags: per tag).
inline constexpr size_t kMaxNamePartLength = 50;  // firstName, lastName
inline constexpr size_t kMaxCompanyNameLength = 200;
inline constexpr size_t kMaxAddressLength = 500;  // one free-text string, lines allowed
inline constexpr size_t kMaxTagLength = 50;
inline constexpr size_t kMaxCustomerTags = 20;
inline constexpr std::string_view kMinBirthDate = "1900-01-01";

// The seed-002 profile fields most customers lack. Absent is null on the wire.
struct CustomerDetails {
  std::optional<std::string> first_name;
  std::optional<std::string> last_name;
  std::optional<std::string> company_name;
  std::optional<std::string> birth_date;  // YYYY-MM-DD: compares as a date
  std::optional<std::string> address;
  std::optional<std::string> referred_by;  // another customer's id
  std::vector<std::string> tags;           // trimmed, distinct, in the order given

  bool operator==(const CustomerDetails&) const = default;
};

// A value held behind one pointer: 8 bytes while it is the default (the write model holds a
// million customers, most without details). Copies deeply; compares by value.
template <typename T>
class ValueBox {
 public:
  ValueBox() = default;
  ValueBox(const ValueBox& o) : p_(o.p_ ? std::make_unique<T>(*o.p_) : nullptr) {}
  ValueBox(ValueBox&&) noexcept = default;
  ValueBox& operator=(const ValueBox& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<T>(*o.p_) : nullptr;
    return *this;
  }
  ValueBox& operator=(ValueBox&&) noexcept = default;
  const T& get() const { return p_ ? *p_ : Default(); }
  T& mut() {
    if (!p_) p_ = std::make_unique<T>();
    return *p_;
  }
  bool operator==(const ValueBox& o) const { return get() == o.get(); }

 private:
  static const T& Default() {
    static const T kDefault;
    return kDefault;
  }
  std::unique_ptr<T> p_;
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
  CustomerStatus status = CustomerStatus::kCustomer;
  CustomerType customer_type = CustomerType::kPerson;
  std::optional<std::string> owner_id;  // the user (sales rep) the customer is assigned to
  ValueBox<CustomerDetails> details;
  Millis created_at = 0;
  Millis updated_at = 0;
  int64_t version = 0;  // aggregate_version of the last event applied; 0: does not exist
  CustomerStats stats;
  // The loyalty standing the level keeper last recorded (domain/loyalty.h), and how many such
  // events were folded (the aggregate_version of the next one is this + 1).
  LoyaltyStanding standing;
  int64_t standing_version = 0;

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
  // Seed 002. A PUT that omits status or referredBy keeps them (a status changes only when
  // asked, through CustomerStatusChanged; a referral is history); the others return to their
  // defaults (WithProfileDefaults). Present-and-null clears.
  std::optional<CustomerStatus> status;
  std::optional<CustomerType> customer_type;
  std::optional<std::optional<std::string>> first_name;
  std::optional<std::optional<std::string>> last_name;
  std::optional<std::optional<std::string>> company_name;
  std::optional<std::optional<std::string>> birth_date;
  std::optional<std::optional<std::string>> address;
  std::optional<std::optional<std::string>> referred_by;
  std::optional<std::vector<std::string>> tags;

  bool empty() const {
    return !name && !email && !phone && !total_spending_cents && !visits && !last_visit &&
           !is_active && !owner_id && !status && !customer_type && !first_name && !last_name &&
           !company_name && !birth_date && !address && !referred_by && !tags;
  }
  bool operator==(const CustomerFields&) const = default;
};

enum class CustomerInputMode {
  kCreate,   // POST: name and email required
  kReplace,  // PUT: name and email required; absent optional fields return to defaults
  kPatch,    // PATCH: every field optional, at least one
};

// Validates a request body (seed 000 rules, and seed 002's fields): trims name, lowercases
// email, rejects unknown fields by name. Every violation is listed; the error is
// kInvalidArgument. In kCreate and kReplace, a body without name but with firstName or lastName
// gets the name derived from them (NameFromParts), and a COMPANY needs a companyName. What needs
// more than the body (birthDate not in the future, referredBy an existing customer, a legal
// status change) is the decide functions' (commands/customer_commands.h).
Result<CustomerFields> ParseCustomerInput(std::string_view body, CustomerInputMode mode);
// The same for an already parsed element (bulk ingestion parses each record once).
Result<CustomerFields> ParseCustomerInput(simdjson::dom::element record, CustomerInputMode mode);

// In kReplace mode the absent optional fields are filled with their defaults. The seed-000
// fields only: a registration's payload holds the seed-002 fields only when given (absent ones
// fold to their defaults), so that it stays what it was for clients that do not use them.
CustomerFields WithDefaults(CustomerFields fields);
// For PUT: WithDefaults, and the seed-002 profile fields but status and referredBy back to theirs
// (PERSON, nulls, no tags).
CustomerFields WithProfileDefaults(CustomerFields fields);

// "first last", either alone when the other is absent; nullopt when both are.
std::optional<std::string> NameFromParts(const std::optional<std::string>& first,
                                         const std::optional<std::string>& last);
// Today's date in UTC, YYYY-MM-DD: the latest birthDate accepted.
std::string DateOf(Millis at);

std::string EncodeCustomerFields(const CustomerFields& fields);
// Decodes a payload from the log; kDataLoss when it does not hold valid fields.
Result<CustomerFields> DecodeCustomerFields(std::string_view payload);

// The fold. Applies one customer event to the state; kDataLoss when the payload is bad.
// The caller has already checked CheckSupport().
Status ApplyCustomerEvent(Customer& customer, const EventEnvelope& event);

// Folds a CustomerLevelChanged or CustomerScoresChanged (aggregate kCustomerStandingAggregate)
// into its customer; kDataLoss (the customer unchanged) for a bad payload, a version that does
// not follow the customer's standing_version, or a customer that does not exist.
Status ApplyStandingEvent(Customer& customer, const EventEnvelope& event);

// Payload of CustomerVisitRecorded: {"visitedAt": "<ISO-8601>"}.
std::string EncodeVisit(Millis visited_at);
Result<Millis> DecodeVisit(std::string_view payload);

// JSON representation, served by the API: the profile (id, name, email, phone, isActive,
// unsubscribed, status, customerType, firstName, lastName, companyName, birthDate, address,
// referredBy, tags, ownerId, createdAt, updatedAt, version), then the figures: the served ones at
// the top level (totalSpending, visits, lastVisit, orderCount, averageOrderValue, firstOrderAt,
// lastOrderAt), the baseline under "baseline", and the stats (orderSpending, recordedVisits,
// lastActivityAt, statsRevision).
std::string CustomerToJson(const Customer& customer);
// Reads the profile, and the figures when present (a served document, or a read-model record
// written before the figures were stored apart); without them the baseline and stats stay 0.
// A record written before the seed-002 fields reads with their defaults.
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
