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

// YYYY-MM-DD, a real day of the Gregorian calendar, from kMinBirthDate.
bool IsValidBirthDate(std::string_view d) {
  if (d.size() != 10 || d < kMinBirthDate) return false;
  std::string at(d);
  at += "T00:00:00Z";
  auto t = ParseIso8601(at);
  return t && FormatIso8601(*t).substr(0, 10) == d;  // refuses 2023-02-30
}

// A nullable text field: trimmed, 1 to `max` characters.
void ReadNullableText(std::string_view key, element value, size_t max,
                      std::optional<std::optional<std::string>>& out,
                      std::vector<FieldError>& errors) {
  if (value.type() == element_type::NULL_VALUE) {
    out = std::optional<std::string>();
    return;
  }
  if (value.type() != element_type::STRING) {
    errors.push_back(
        {std::string(key), "Expected a string or null, got " + std::string(json::TypeName(value))});
    return;
  }
  std::string_view text = TrimSpace(value.get_string().value_unsafe());
  const size_t len = Utf8Length(text);
  if (len < 1 || len > max) {
    errors.push_back({std::string(key), "Must be 1 to " + std::to_string(max) + " characters"});
    return;
  }
  out = std::optional<std::string>(std::string(text));
}

void ReadTags(element value, std::optional<std::vector<std::string>>& out,
              std::vector<FieldError>& errors) {
  if (value.type() != element_type::ARRAY) {
    errors.push_back(
        {"tags", "Expected an array of strings, got " + std::string(json::TypeName(value))});
    return;
  }
  std::vector<std::string> tags;
  const simdjson::dom::array items = value.get_array().value_unsafe();
  for (element tag : items) {
    if (tag.type() != element_type::STRING) {
      errors.push_back({"tags", "Each tag must be a string"});
      return;
    }
    std::string_view text = TrimSpace(tag.get_string().value_unsafe());
    const size_t len = Utf8Length(text);
    if (len < 1 || len > kMaxTagLength) {
      errors.push_back(
          {"tags", "Each tag must be 1 to " + std::to_string(kMaxTagLength) + " characters"});
      return;
    }
    if (std::find(tags.begin(), tags.end(), text) == tags.end()) tags.emplace_back(text);
  }
  if (tags.size() > kMaxCustomerTags) {
    errors.push_back({"tags", "At most " + std::to_string(kMaxCustomerTags) + " distinct tags"});
    return;
  }
  out = std::move(tags);
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
    } else if (key == "status") {
      std::optional<CustomerStatus> status;
      if (value.type() == element_type::STRING) {
        status = ParseCustomerStatus(value.get_string().value_unsafe());
      }
      if (!status) {
        errors.push_back({"status", "Must be LEAD, OPPORTUNITY, CUSTOMER or CHURNED"});
        continue;
      }
      out.status = *status;
    } else if (key == "customerType") {
      std::optional<CustomerType> type;
      if (value.type() == element_type::STRING) {
        type = ParseCustomerType(value.get_string().value_unsafe());
      }
      if (!type) {
        errors.push_back({"customerType", "Must be PERSON or COMPANY"});
        continue;
      }
      out.customer_type = *type;
    } else if (key == "firstName") {
      ReadNullableText(key, value, kMaxNamePartLength, out.first_name, errors);
    } else if (key == "lastName") {
      ReadNullableText(key, value, kMaxNamePartLength, out.last_name, errors);
    } else if (key == "companyName") {
      ReadNullableText(key, value, kMaxCompanyNameLength, out.company_name, errors);
    } else if (key == "address") {
      ReadNullableText(key, value, kMaxAddressLength, out.address, errors);
    } else if (key == "birthDate") {
      if (value.type() == element_type::NULL_VALUE) {
        out.birth_date = std::optional<std::string>();
        continue;
      }
      if (value.type() != element_type::STRING ||
          !IsValidBirthDate(value.get_string().value_unsafe())) {
        errors.push_back({"birthDate", "Must be a date YYYY-MM-DD from 1900-01-01, or null"});
        continue;
      }
      out.birth_date = std::optional<std::string>(std::string(value.get_string().value_unsafe()));
    } else if (key == "referredBy") {
      if (value.type() == element_type::NULL_VALUE) {
        out.referred_by = std::optional<std::string>();
      } else if (value.type() != element_type::STRING ||
                 !IsUuid(value.get_string().value_unsafe())) {
        errors.push_back({"referredBy", "Must be a customer id or null"});
      } else {
        out.referred_by =
            std::optional<std::string>(std::string(value.get_string().value_unsafe()));
      }
    } else if (key == "tags") {
      ReadTags(value, out.tags, errors);
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
    if (!fields.name && !has_error("name") && !has_error("firstName") && !has_error("lastName")) {
      auto derived = NameFromParts(fields.first_name.value_or(std::nullopt),
                                   fields.last_name.value_or(std::nullopt));
      if (derived && Utf8Length(*derived) > 100) {
        errors.push_back(
            {"name", "Name (from firstName and lastName) must be at most 100 characters"});
      } else {
        fields.name = std::move(derived);
      }
    }
    if (!fields.name && !has_error("name")) {
      errors.push_back({"name", "Name is required"});
    }
    if (fields.customer_type == CustomerType::kCompany &&
        !fields.company_name.value_or(std::nullopt) && !has_error("companyName")) {
      errors.push_back({"companyName", "Company name is required when customerType is COMPANY"});
    }
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

CustomerFields WithProfileDefaults(CustomerFields f) {
  f = WithDefaults(std::move(f));
  if (!f.customer_type) f.customer_type = CustomerType::kPerson;
  if (!f.first_name) f.first_name = std::optional<std::string>();
  if (!f.last_name) f.last_name = std::optional<std::string>();
  if (!f.company_name) f.company_name = std::optional<std::string>();
  if (!f.birth_date) f.birth_date = std::optional<std::string>();
  if (!f.address) f.address = std::optional<std::string>();
  if (!f.tags) f.tags = std::vector<std::string>();
  return f;
}

std::optional<std::string> NameFromParts(const std::optional<std::string>& first,
                                         const std::optional<std::string>& last) {
  if (!first) return last;
  if (!last) return first;
  std::string name = *first;
  name += ' ';
  name += *last;
  return name;
}

std::string DateOf(Millis at) { return FormatIso8601(at).substr(0, 10); }

namespace {

constexpr std::string_view kStatusNames[] = {"LEAD", "OPPORTUNITY", "CUSTOMER", "CHURNED"};
constexpr std::string_view kTypeNames[] = {"PERSON", "COMPANY"};

void NullableText(JsonWriter& w, std::string_view key, const std::optional<std::string>& v) {
  w.Key(key);
  v ? w.String(*v) : w.Null();
}

void WriteTags(JsonWriter& w, const std::vector<std::string>& tags) {
  w.Key("tags").BeginArray();
  for (const auto& t : tags) w.String(t);
  w.EndArray();
}

}  // namespace

std::string_view CustomerStatusName(CustomerStatus s) {
  return kStatusNames[static_cast<size_t>(s)];
}

std::optional<CustomerStatus> ParseCustomerStatus(std::string_view name) {
  for (size_t i = 0; i < std::size(kStatusNames); ++i) {
    if (kStatusNames[i] == name) return static_cast<CustomerStatus>(i);
  }
  return std::nullopt;
}

std::string_view CustomerTypeName(CustomerType t) { return kTypeNames[static_cast<size_t>(t)]; }

std::optional<CustomerType> ParseCustomerType(std::string_view name) {
  for (size_t i = 0; i < std::size(kTypeNames); ++i) {
    if (kTypeNames[i] == name) return static_cast<CustomerType>(i);
  }
  return std::nullopt;
}

bool IsLegalStatusChange(CustomerStatus from, CustomerStatus to) {
  if (from == to || to == CustomerStatus::kChurned || from == CustomerStatus::kChurned) {
    return true;
  }
  return static_cast<int>(to) > static_cast<int>(from);  // forward along the pipeline
}

std::string EncodeStatusChange(const CustomerStatusChange& change) {
  JsonWriter w;
  w.BeginObject();
  w.Key("from").String(CustomerStatusName(change.from));
  w.Key("to").String(CustomerStatusName(change.to));
  w.EndObject();
  return w.Take();
}

Result<CustomerStatusChange> DecodeStatusChange(std::string_view payload) {
  auto doc = json::Parse(payload, "Event payload", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  std::string_view from, to;
  if (doc->at_key("from").get(from) || doc->at_key("to").get(to)) {
    return Fail(Error::DataLoss("Status change without from and to"));
  }
  auto f = ParseCustomerStatus(from);
  auto t = ParseCustomerStatus(to);
  if (!f || !t) return Fail(Error::DataLoss("Status change with an unknown status"));
  return CustomerStatusChange{*f, *t};
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
  if (f.status) w.Key("status").String(CustomerStatusName(*f.status));
  if (f.customer_type) w.Key("customerType").String(CustomerTypeName(*f.customer_type));
  if (f.first_name) NullableText(w, "firstName", *f.first_name);
  if (f.last_name) NullableText(w, "lastName", *f.last_name);
  if (f.company_name) NullableText(w, "companyName", *f.company_name);
  if (f.birth_date) NullableText(w, "birthDate", *f.birth_date);
  if (f.address) NullableText(w, "address", *f.address);
  if (f.referred_by) NullableText(w, "referredBy", *f.referred_by);
  if (f.tags) WriteTags(w, *f.tags);
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
  } else if (e.type == kCustomerStatusChanged) {
    if (c.version == 0) return Fail(Error::DataLoss("Status change of an unknown customer"));
    auto change = DecodeStatusChange(e.payload);
    if (!change) return Fail(change.error());
    c.status = change->to;
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
    if (fields->status) c.status = *fields->status;
    if (fields->customer_type) c.customer_type = *fields->customer_type;
    if (fields->first_name) c.details.mut().first_name = std::move(*fields->first_name);
    if (fields->last_name) c.details.mut().last_name = std::move(*fields->last_name);
    if (fields->company_name) c.details.mut().company_name = std::move(*fields->company_name);
    if (fields->birth_date) c.details.mut().birth_date = std::move(*fields->birth_date);
    if (fields->address) c.details.mut().address = std::move(*fields->address);
    if (fields->referred_by) c.details.mut().referred_by = std::move(*fields->referred_by);
    if (fields->tags) c.details.mut().tags = std::move(*fields->tags);
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

Status ApplyStandingEvent(Customer& customer, const EventEnvelope& event) {
  if (customer.version == 0) {
    return Fail(Error::DataLoss("Standing change of unknown customer " + event.aggregate_id));
  }
  if (auto st = CheckNextVersion(event, customer.standing_version); !st) return st;
  auto standing = DecodeStandingChange(event);
  if (!standing) return Fail(standing.error());
  customer.standing = *standing;
  customer.standing_version = event.aggregate_version;
  return {};
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
  w.Key("status").String(CustomerStatusName(c.status));
  w.Key("customerType").String(CustomerTypeName(c.customer_type));
  const CustomerDetails& d = c.details.get();
  NullableText(w, "firstName", d.first_name);
  NullableText(w, "lastName", d.last_name);
  NullableText(w, "companyName", d.company_name);
  NullableText(w, "birthDate", d.birth_date);
  NullableText(w, "address", d.address);
  NullableText(w, "referredBy", d.referred_by);
  WriteTags(w, d.tags);
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
  // Absent in records written before the seed-002 fields: their defaults.
  if (!doc->at_key("status").get(s)) {
    auto status = ParseCustomerStatus(s);
    if (!status) return bad("status");
    c.status = *status;
  }
  if (!doc->at_key("customerType").get(s)) {
    auto type = ParseCustomerType(s);
    if (!type) return bad("customerType");
    c.customer_type = *type;
  }
  auto read_text = [&](std::string_view key, std::optional<std::string>& out) {
    if (!doc->at_key(key).get(v) && v.type() == element_type::STRING) {
      out = std::string(v.get_string().value_unsafe());
    }
  };
  CustomerDetails details;
  read_text("firstName", details.first_name);
  read_text("lastName", details.last_name);
  read_text("companyName", details.company_name);
  read_text("birthDate", details.birth_date);
  read_text("address", details.address);
  read_text("referredBy", details.referred_by);
  simdjson::dom::array tags;
  if (!doc->at_key("tags").get(tags)) {
    for (element t : tags) {
      if (t.get(s)) return bad("tags");
      details.tags.emplace_back(s);
    }
  }
  if (!(details == CustomerDetails{})) c.details.mut() = std::move(details);
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
