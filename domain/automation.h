// Automated messages (seed 002, issue 16): welcome, birthday and inactivity messages, each sent
// as a campaign of its own occasion (domain/campaign.h) through the same dispatcher and vendor.
// What makes a customer due for one, and the key that lets each customer have at most one message
// per occasion. Pure.
//
// - Welcome: a customer who becomes CUSTOMER (registered as one or moved to it along the
//   pipeline, not by a bulk import); once per customer, ever.
// - Birthday: a customer whose birthDate's month and day are the UTC date of the run (one born on
//   29 February has it on 28 February in other years); once per customer and year.
// - Inactivity: a customer with no order for at least N whole days (counted from the last order,
//   or from createdAt without one); once per such spell: an order dated after the message ends
//   it, and N days without one start the next (a back-dated or historical order does not).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/customer.h"
#include "domain/time.h"

namespace keel {

enum class Occasion { kNone, kWelcome, kBirthday, kInactivity };
// "welcome", "birthday", "inactivity" ("" for kNone), as stored in events and served.
std::string_view OccasionName(Occasion occasion);
std::optional<Occasion> ParseOccasion(std::string_view name);  // "" is kNone

// The causation_id of the events of a bulk ingestion job: this + the job's id (the HTTP server
// replaces an X-Request-Id that starts with it). A customer registered or made CUSTOMER by one is
// imported, not new: no welcome.
inline constexpr std::string_view kIngestCausationPrefix = "ingest/";

inline constexpr int64_t kDefaultInactivityDays = 60;
inline constexpr int64_t kMaxInactivityDays = 3660;
inline constexpr int64_t kDefaultWelcomeMaxAgeDays = 7;

// Whether `customer` has a birthday on the UTC date of `at`.
bool HasBirthdayOn(const Customer& customer, Millis at);
// The month and day of `customer`'s birthDate ("12-04"), by which a birthday run finds them;
// nullopt without one. The audience projection indexes it: a change here (or in BirthDateMillis)
// needs that projection's format raised.
std::optional<std::string> BirthdayOf(const Customer& customer);
// The month-days (as BirthdayOf) of the customers with a birthday on the UTC date of `at`: that
// date's, and on 28 February of a year without a 29th, "02-29" as well.
std::vector<std::string> BirthdaysOn(Millis at);

// The key of the occasion on which `customer` is due at `at` (`days`: the inactivity's N), which
// a customer is sent once (see SentAgain): "welcome"; "birthday/2026"; "inactivity". nullopt when
// the customer is not due. Welcome is due for every customer whose status is CUSTOMER: who just
// became one is the caller's to know.
std::optional<std::string> OccasionKeyFor(Occasion occasion, int64_t days, const Customer& customer,
                                          Millis at);

// Whether a customer due on `occasion` who was sent its message under the same key by the run at
// `sent_at` is due it again: an inactivity message once an order dated after it ended that
// spell; the others never.
bool SentAgain(Occasion occasion, const Customer& customer, Millis sent_at);

// The name of the campaign that sends `occasion`'s messages for the run at `at`, one per run:
// "Welcome messages 2026-12-04T05:45:12Z", "Birthday messages 2026-12-04",
// "Inactivity messages, week of 2026-11-30" (weeks start on Monday, UTC). Two runs with the same
// name are the same run: the automation keeper launches each name once.
std::string OccasionRunName(Occasion occasion, Millis at);

}  // namespace keel
