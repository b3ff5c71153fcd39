#include "domain/customer.h"

#include <algorithm>
#include <iterator>
#include <vector>

#include "domain/ids.h"
#include "domain/json.h"
#include "domain/json_input.h"
#include "domain/numbers.h"
#include "domain/text.h"

namespace keel {

using simdjson::dom::element;
using simdjson::dom::element_type;

bool IsValidEmail(std::string_view e) {
  if (e.size() > 254) return false;
  const size_t at = e.find('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || e.find('@', at + 1) != e.npos) {
    return false;
  }
  for (char c : e.substr(0, at)) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '(' || c == ')' || c == ',' || c == ':' ||
        c == ';' || c == '<' || c == '>' || c == '[' || c == ']' || c == '\\' || c == '"') {
      return false;
    }
  }
  std::string_view local = e.substr(0, at);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != local.npos) return false;
  std::string_view domain = e.substr(at + 1);
  if (domain.empty() || domain.find('.') == domain.npos) return false;
  size_t start = 0;
  while (start <= domain.size()) {
    size_t dot = domain.find('.', start);
    if (dot == domain.npos) dot = domain.size();
    std::string_view label = domain.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      static_cast<unsigned char>(c) >= 0x80;
      if (!ok) return false;
    }
    if (dot == domain.size()) {
      if (label.size() < 2) return false;  // top-level domain
      break;
    }
    start = dot + 1;
  }
  return true;
}

namespace {

bool IsValidPhone(std::string_view p) {
  if (p.empty() || p.size() > 50) return false;
  size_t i = p.front() == '+' ? 1 : 0;
  if (i == p.size()) return false;
  for (; i < p.size(); ++i) {
    const char c = p[i];
    if (!((c >= '0' && c <= '9') || c == ' ' || c == '\t' || c == '-' || c == '(' || c == ')')) {
      return false;
    }
  }
  return true;
}

// Reads the fields of `obj` into `out`, appending one FieldError per violation.
void ReadFields(simdjson::dom::object obj, CustomerFields& out, std::vector<FieldError>& errors) {
  auto type_error = [&](std::string_view field, std::string_view want, element v) {
    errors.push_back({std::string(field), "Expected " + std::string(want) + ", got " +
                                              std::string(json::TypeName(v))});
  };
  for (auto [key, value] : obj) {
    if (key == "name") {
      if (value.type() != element_type::STRING) {
        type_error(key, "a string", value);
        continue;
      }
      std::string_view name = TrimSpace(value.get_string().value_unsafe());
      const size_t len = Utf8Length(name);
      if (len < 1 || len > 100) {
        errors.push_back({"name", "Name must be 1 to 100 characters"});
        continue;
      }
      out.name = std::string(name);
    } else if (key == "email") {
      if (value.type() != element_type::STRING) {
        type_error(key, "a string", value);
        continue;
      }
      std::string email = NormaliseEmail(value.get_string().value_unsafe());
      if (!IsValidEmail(email)) {
        errors.push_back({"email", "Invalid email address"});
        continue;
      }
      out.email = std::move(email);
    } else if (key == "phone") {
      if (value.type() == element_type::NULL_VALUE) {
        out.phone = std::optional<std::string>();
        continue;
      }
      if (value.type() != element_type::STRING) {
        type_error(key, "a string or null", value);
        continue;
      }
      std::string_view phone = TrimSpace(value.get_string().value_unsafe());
      if (!IsValidPhone(phone)) {
        errors.push_back({"phone", "Phone may hold only digits, spaces, '-', '(', ')' and a leading '+', at most 50 characters"});
        continue;
      }
      out.phone = std::optional<std::string>(std::string(phone));
    } else if (key == "totalSpending") {
      if (value.type() != element_type::INT64 && value.type() != element_type::UINT64 &&
          value.type() != element_type::DOUBLE) {
        type_error(key, "a number", value);
        continue;
      }
      // The range first: a huge number is too large, whatever its decimals.
      const double units = value.get_double().value_unsafe();
      auto cents = json::ToCents(value);
      if (!(units >= 0 && units <= static_cast<double>(kMaxCents / 100)) ||
          (cents && *cents > kMaxCents)) {
        errors.push_back({"totalSpending", "Must be between 0 and 1000000000000"});
      } else if (!cents) {
        errors.push_back({"totalSpending", "Amount must have at most two decimal places"});
      } else {
        out.total_spending_cents = *cents;
      }
    } else if (key == "visits") {
      auto n = json::ToInt(value);
      if (!n) {
        errors.push_back({"visits", value.type() == element_type::DOUBLE
                                        ? "Must be an integer"
                                        : "Expected an integer, got " + std::string(json::TypeName(value))});
      } else if (*n < 0 || *n > 1'000'000'000'000) {
        errors.push_back({"visits", "Must be between 0 and 1000000000000"});
      } else {
        out.visits = *n;
      }
    } else if (key == "lastVisit") {
      if (value.type() == element_type::NULL_VALUE) {
        out.last_visit = std::optional<Millis>();
        continue;
      }
      if (value.type() != element_type::STRING) {
        type_error(key, "an ISO-8601 datetime string or null", value);
        continue;
      }
      auto t = ParseIso8601(value.get_string().value_unsafe());
      if (!t) {
        errors.push_back({"lastVisit", std::string(kInvalidDatetimeMessage)});
        continue;
      }
      out.last_visit = std::optional<Millis>(*t);
    } else if (key == "isActive") {
      if (value.type() != element_type::BOOL) {
        type_error(key, "a boolean", value);
        continue;
      }
      out.is_active = value.get_bool().value_unsafe();
    } else if (key == "ownerId") {
      if (value.type() == element_type::NULL_VALUE) {
        out.owner_id = std::optional<std::string>();
      } else if (value.type() != element_type::STRING || !IsUuid(value.get_string().value_unsafe())) {
        errors.push_back({"ownerId", "Must be a user id or null"});
      } else {
        out.owner_id = std::optional<std::string>(std::string(value.get_string().value_unsafe()));
      }
    } else {
      errors.push_back({std::string(key), "Unknown field"});
    }
  }
}

}  // namespace

std::string NormaliseEmail(std::string_view email) {
  std::string out(TrimSpace(email));
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; });
  return out;
}

Result<CustomerFields> ParseCustomerInput(std::string_view body, CustomerInputMode mode) {
  auto doc = json::Parse(body, "Request body", ErrorCode::kInvalidArgument);
  if (!doc) return Fail(doc.error());
  return ParseCustomerInput(*doc, mode);
}

Result<CustomerFields> ParseCustomerInput(simdjson::dom::element doc, CustomerInputMode mode) {
  if (doc.type() != element_type::OBJECT) {
    return Fail(Error::InvalidArgument("Request body must be a JSON object"));
  }
  CustomerFields fields;
  std::vector<FieldError> errors;
  ReadFields(doc.get_object().value_unsafe(), fields, errors);
  if (mode != CustomerInputMode::kPatch) {
    auto has_error = [&](std::string_view f) {
      return std::any_of(errors.begin(), errors.end(), [&](auto& e) { return e.field == f; });
    };
    if (!fields.name && !has_error("name")) errors.push_back({"name", "Name is required"});
    if (!fields.email && !has_error("email")) errors.push_back({"email", "Email is required"});
  } else if (fields.empty() && errors.empty()) {
    errors.push_back({"body", "At least one field must be given"});
  }
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return fields;
}

CustomerFields WithDefaults(CustomerFields f) {
  if (!f.phone) f.phone = std::optional<std::string>();
  if (!f.total_spending_cents) f.total_spending_cents = 0;
  if (!f.visits) f.visits = 0;
  if (!f.last_visit) f.last_visit = std::optional<Millis>();
  if (!f.is_active) f.is_active = true;
  return f;
}

std::string EncodeCustomerFields(const CustomerFields& f) {
  JsonWriter w;
  w.BeginObject();
  if (f.name) w.Key("name").String(*f.name);
  if (f.email) w.Key("email").String(*f.email);
  if (f.phone) {
    w.Key("phone");
    *f.phone ? w.String(**f.phone) : w.Null();
  }
  if (f.total_spending_cents) w.Key("totalSpending").Cents(*f.total_spending_cents);
  if (f.visits) w.Key("visits").Int(*f.visits);
  if (f.last_visit) {
    w.Key("lastVisit");
    *f.last_visit ? w.String(FormatIso8601(**f.last_visit)) : w.Null();
  }
  if (f.is_active) w.Key("isActive").Bool(*f.is_active);
  if (f.owner_id) {
    w.Key("ownerId");
    *f.owner_id ? w.String(**f.owner_id) : w.Null();
  }
  w.EndObject();
  return w.Take();
}

Result<CustomerFields> DecodeCustomerFields(std::string_view payload) {
  auto doc = json::Parse(payload, "Event payload", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  if (doc->type() != element_type::OBJECT) {
    return Fail(Error::DataLoss("Event payload is not an object"));
  }
  CustomerFields fields;
  std::vector<FieldError> errors;
  ReadFields(doc->get_object().value_unsafe(), fields, errors);
  if (!errors.empty()) {
    return Fail(Error{ErrorCode::kDataLoss,
                      "Invalid payload field '" + errors[0].field + "': " + errors[0].message,
                      std::move(errors)});
  }
  return fields;
}

Status ApplyCustomerEvent(Customer& c, const EventEnvelope& e) {
  if (auto st = CheckNextVersion(e, c.version); !st) return st;
  if (e.type == kCustomerDeactivated) {
    if (c.version == 0) return Fail(Error::DataLoss("Deactivation of an unknown customer"));
    c.is_active = false;
  } else if (e.type == kCustomerUnsubscribed || e.type == kCustomerResubscribed) {
    if (c.version == 0) return Fail(Error::DataLoss("Subscription change of an unknown customer"));
    c.unsubscribed = e.type == kCustomerUnsubscribed;
  } else if (e.type == kCustomerVisitRecorded) {
    if (c.version == 0) return Fail(Error::DataLoss("Visit of an unknown customer"));
    auto at = DecodeVisit(e.payload);
    if (!at) return Fail(at.error());
    auto visits = CheckedAdd(c.stats.recorded_visits, 1);
    auto revision = CheckedAdd(c.stats.revision, 1);
    if (!visits || !revision) {
      return Fail(Error::DataLoss("Visit past the customer's int64 counts"));
    }
    c.stats.recorded_visits = *visits;
    c.stats.last_activity = std::max(c.stats.last_activity.value_or(*at), *at);
    c.stats.revision = *revision;
  } else {
    auto fields = DecodeCustomerFields(e.payload);
    if (!fields) return Fail(fields.error());
    if (e.type == kCustomerRegistered) {
      if (c.version != 0) return Fail(Error::DataLoss("Customer registered twice"));
      if (!fields->name || !fields->email) {
        return Fail(Error::DataLoss("CustomerRegistered lacks name or email"));
      }
      c = Customer{};
      c.id = e.aggregate_id;
      c.created_at = e.occurred_at;
      *fields = WithDefaults(std::move(*fields));
    } else if (c.version == 0) {
      return Fail(Error::DataLoss("Update of an unknown customer"));
    }
    if (fields->name) c.name = std::move(*fields->name);
    if (fields->email) c.email = std::move(*fields->email);
    if (fields->phone) c.phone = std::move(*fields->phone);
    if (fields->total_spending_cents) c.total_spending_cents = *fields->total_spending_cents;
    if (fields->visits) c.visits = *fields->visits;
    if (fields->last_visit) c.last_visit = *fields->last_visit;
    if (fields->is_active) c.is_active = *fields->is_active;
    if (fields->owner_id) c.owner_id = std::move(*fields->owner_id);
  }
  c.updated_at = e.occurred_at;
  c.version = e.aggregate_version;
  return {};
}

int64_t TotalSpendingCents(const Customer& c) {
  return SaturatingAdd(c.total_spending_cents, c.stats.order_cents);
}

int64_t TotalVisits(const Customer& c) {
  return SaturatingAdd(SaturatingAdd(c.visits, c.stats.recorded_visits), c.stats.order_count);
}

std::optional<Millis> LastVisit(const Customer& c) {
  if (!c.last_visit) return c.stats.last_activity;
  if (!c.stats.last_activity) return c.last_visit;
  return std::max(*c.last_visit, *c.stats.last_activity);
}

int64_t AverageOrderCents(const Customer& c) {
  const int64_t n = c.stats.order_count;
  const int64_t cents = c.stats.order_cents;
  if (n <= 0) return 0;
  if (cents < 0) return (cents + n / 2) / n;  // cannot overflow: the two have opposite signs
  // (cents + n / 2) / n, without the sum that could pass INT64_MAX.
  const int64_t rest = cents % n;
  return cents / n + (rest >= n - rest ? 1 : 0);
}

bool WithinSpendingLimit(int64_t baseline_cents, int64_t order_cents, int64_t added_cents) {
  auto total = CheckedAdd(baseline_cents, order_cents);
  if (total) total = CheckedAdd(*total, added_cents);
  return total && *total <= kMaxCustomerSpendingCents;
}

std::string SpendingLimitMessage() {
  return "Would take the customer's total spending past " + FormatCents(kMaxCustomerSpendingCents) +
         ", the most one customer may reach";
}

std::string EncodeVisit(Millis visited_at) {
  JsonWriter w;
  w.BeginObject();
  w.Key("visitedAt").String(FormatIso8601(visited_at));
  w.EndObject();
  return w.Take();
}

Result<Millis> DecodeVisit(std::string_view payload) {
  auto doc = json::Parse(payload, "Event payload", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  std::string_view s;
  if (doc->at_key("visitedAt").get(s)) return Fail(Error::DataLoss("Visit without visitedAt"));
  auto at = ParseIso8601(s);
  if (!at) return Fail(Error::DataLoss("Visit with an invalid visitedAt"));
  return *at;
}

namespace {

void OptionalTime(JsonWriter& w, std::string_view key, const std::optional<Millis>& t) {
  w.Key(key);
  t ? w.String(FormatIso8601(*t)) : w.Null();
}

std::optional<Millis> ReadOptionalTime(simdjson::dom::element obj, std::string_view key) {
  element v;
  if (obj.at_key(key).get(v) || v.type() != element_type::STRING) return std::nullopt;
  return ParseIso8601(v.get_string().value_unsafe());
}

}  // namespace

namespace {

void WriteProfileMembers(JsonWriter& w, const Customer& c) {
  w.Key("id").String(c.id);
  w.Key("name").String(c.name);
  w.Key("email").String(c.email);
  w.Key("phone");
  c.phone ? w.String(*c.phone) : w.Null();
  w.Key("isActive").Bool(c.is_active);
  w.Key("unsubscribed").Bool(c.unsubscribed);
  w.Key("ownerId");
  c.owner_id ? w.String(*c.owner_id) : w.Null();
  w.Key("createdAt").String(FormatIso8601(c.created_at));
  w.Key("updatedAt").String(FormatIso8601(c.updated_at));
  w.Key("version").Int(c.version);
}

void WriteFigureMembers(JsonWriter& w, const Customer& c) {
  w.Key("totalSpending").Cents(TotalSpendingCents(c));
  w.Key("visits").Int(TotalVisits(c));
  OptionalTime(w, "lastVisit", LastVisit(c));
  w.Key("orderCount").Int(c.stats.order_count);
  w.Key("averageOrderValue").Cents(AverageOrderCents(c));
  OptionalTime(w, "firstOrderAt", c.stats.first_order_at);
  OptionalTime(w, "lastOrderAt", c.stats.last_order_at);
  w.Key("baseline").BeginObject();
  w.Key("totalSpending").Cents(c.total_spending_cents);
  w.Key("visits").Int(c.visits);
  OptionalTime(w, "lastVisit", c.last_visit);
  w.EndObject();
  w.Key("orderSpending").Cents(c.stats.order_cents);
  w.Key("recordedVisits").Int(c.stats.recorded_visits);
  OptionalTime(w, "lastActivityAt", c.stats.last_activity);
  w.Key("statsRevision").Int(c.stats.revision);
}

// Our writer puts no space after a colon, and a quote inside a string is escaped: this text is
// only ever the key of the baseline object.
constexpr std::string_view kBaselineKey = "\"baseline\":{";

}  // namespace

std::string CustomerToJson(const Customer& c) {
  JsonWriter w;
  w.BeginObject();
  WriteProfileMembers(w, c);
  WriteFigureMembers(w, c);
  w.EndObject();
  return w.Take();
}

std::string CustomerProfileToJson(const Customer& c) {
  JsonWriter w;
  w.BeginObject();
  WriteProfileMembers(w, c);
  w.EndObject();
  return w.Take();
}

bool ProfileHoldsFigures(std::string_view json) {
  return json.find(kBaselineKey) != std::string_view::npos;
}

Result<std::string> ServedCustomerJson(std::string_view profile, const Customer& figures) {
  if (ProfileHoldsFigures(profile)) {
    auto c = CustomerFromJson(profile);
    if (!c) return Fail(c.error());
    Customer merged = std::move(*c);
    merged.total_spending_cents = figures.total_spending_cents;
    merged.visits = figures.visits;
    merged.last_visit = figures.last_visit;
    merged.stats = figures.stats;
    return CustomerToJson(merged);
  }
  if (profile.size() < 2 || profile.front() != '{' || profile.back() != '}') {
    return Fail(Error::DataLoss("Customer record is not a JSON object"));
  }
  JsonWriter w;
  w.BeginObject();
  w.RawMembers(profile.substr(1, profile.size() - 2));
  WriteFigureMembers(w, figures);
  w.EndObject();
  return w.Take();
}

Result<Customer> CustomerFromJson(std::string_view text) {
  auto doc = json::Parse(text, "Customer record", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  Customer c;
  auto bad = [](std::string_view f) {
    return Fail(Error::DataLoss("Customer record field '" + std::string(f) + "' is invalid"));
  };
  std::string_view s;
  if (doc->at_key("id").get(s)) return bad("id");
  c.id = s;
  if (doc->at_key("name").get(s)) return bad("name");
  c.name = s;
  if (doc->at_key("email").get(s)) return bad("email");
  c.email = s;
  element v;
  if (!doc->at_key("phone").get(v) && v.type() == element_type::STRING) {
    c.phone = std::string(v.get_string().value_unsafe());
  }
  if (doc->at_key("isActive").get(c.is_active)) return bad("isActive");
  // Absent in records written before subscriptions existed: subscribed.
  if (auto u = doc->at_key("unsubscribed"); u.error() != simdjson::NO_SUCH_FIELD) {
    if (u.get(c.unsubscribed)) return bad("unsubscribed");
  }
  if (!doc->at_key("ownerId").get(v) && v.type() == element_type::STRING) {
    c.owner_id = std::string(v.get_string().value_unsafe());
  }
  if (doc->at_key("createdAt").get(s)) return bad("createdAt");
  c.created_at = ParseIso8601(s).value_or(0);
  if (doc->at_key("updatedAt").get(s)) return bad("updatedAt");
  c.updated_at = ParseIso8601(s).value_or(0);
  if (doc->at_key("version").get(c.version)) return bad("version");

  auto found = doc->at_key("baseline");
  if (found.error() == simdjson::NO_SUCH_FIELD) return c;  // a profile record: no figures
  element baseline;
  if (found.get(baseline)) return bad("baseline");
  if (baseline.at_key("totalSpending").get(v)) return bad("baseline.totalSpending");
  auto cents = json::ToCents(v);
  if (!cents) return bad("baseline.totalSpending");
  c.total_spending_cents = *cents;
  if (baseline.at_key("visits").get(c.visits)) return bad("baseline.visits");
  c.last_visit = ReadOptionalTime(baseline, "lastVisit");

  if (doc->at_key("orderSpending").get(v)) return bad("orderSpending");
  cents = json::ToCents(v);
  if (!cents) return bad("orderSpending");
  c.stats.order_cents = *cents;
  if (doc->at_key("orderCount").get(c.stats.order_count)) return bad("orderCount");
  if (doc->at_key("recordedVisits").get(c.stats.recorded_visits)) return bad("recordedVisits");
  if (doc->at_key("statsRevision").get(c.stats.revision)) return bad("statsRevision");
  c.stats.first_order_at = ReadOptionalTime(*doc, "firstOrderAt");
  c.stats.last_order_at = ReadOptionalTime(*doc, "lastOrderAt");
  c.stats.last_activity = ReadOptionalTime(*doc, "lastActivityAt");
  return c;
}

Result<std::string> UpcastCustomerRegisteredV1(std::string_view payload) {
  auto fields = DecodeCustomerFields(payload);
  if (!fields) return Fail(fields.error());
  return EncodeCustomerFields(WithDefaults(std::move(*fields)));
}

}  // namespace keel
