#include "domain/customer.h"

#include <algorithm>
#include <vector>

#include "domain/json.h"
#include "domain/json_input.h"

namespace keel {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

constexpr std::string_view kWhitespace = " \t\r\n\f\v";

std::string_view Trim(std::string_view s) {
  const size_t b = s.find_first_not_of(kWhitespace);
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(kWhitespace);
  return s.substr(b, e - b + 1);
}

size_t Utf8Length(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

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
      std::string_view name = Trim(value.get_string().value_unsafe());
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
      std::string_view phone = Trim(value.get_string().value_unsafe());
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
      auto cents = json::ToCents(value);
      if (!cents) {
        errors.push_back({"totalSpending", "Amount must have at most two decimal places"});
      } else if (*cents < 0 || *cents > kMaxCents) {
        errors.push_back({"totalSpending", "Must be between 0 and 1000000000000"});
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
        errors.push_back({"lastVisit", "Must be an ISO-8601 datetime with a zone, e.g. 2026-01-31T09:30:00Z"});
        continue;
      }
      out.last_visit = std::optional<Millis>(*t);
    } else if (key == "isActive") {
      if (value.type() != element_type::BOOL) {
        type_error(key, "a boolean", value);
        continue;
      }
      out.is_active = value.get_bool().value_unsafe();
    } else {
      errors.push_back({std::string(key), "Unknown field"});
    }
  }
}

}  // namespace

std::string NormaliseEmail(std::string_view email) {
  std::string out(Trim(email));
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; });
  return out;
}

Result<CustomerFields> ParseCustomerInput(std::string_view body, CustomerInputMode mode) {
  auto doc = json::Parse(body, "Request body", ErrorCode::kInvalidArgument);
  if (!doc) return Fail(doc.error());
  if (doc->type() != element_type::OBJECT) {
    return Fail(Error::InvalidArgument("Request body must be a JSON object"));
  }
  CustomerFields fields;
  std::vector<FieldError> errors;
  ReadFields(doc->get_object().value_unsafe(), fields, errors);
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
  if (e.aggregate_version != c.version + 1) {
    return Fail(Error::DataLoss("Event version " + std::to_string(e.aggregate_version) +
                                " does not follow version " + std::to_string(c.version) +
                                " of customer " + e.aggregate_id));
  }
  if (e.type == kCustomerDeactivated) {
    if (c.version == 0) return Fail(Error::DataLoss("Deactivation of an unknown customer"));
    c.is_active = false;
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
  }
  c.updated_at = e.occurred_at;
  c.version = e.aggregate_version;
  return {};
}

std::string CustomerToJson(const Customer& c) {
  JsonWriter w;
  w.BeginObject();
  w.Key("id").String(c.id);
  w.Key("name").String(c.name);
  w.Key("email").String(c.email);
  w.Key("phone");
  c.phone ? w.String(*c.phone) : w.Null();
  w.Key("totalSpending").Cents(c.total_spending_cents);
  w.Key("visits").Int(c.visits);
  w.Key("lastVisit");
  c.last_visit ? w.String(FormatIso8601(*c.last_visit)) : w.Null();
  w.Key("isActive").Bool(c.is_active);
  w.Key("createdAt").String(FormatIso8601(c.created_at));
  w.Key("updatedAt").String(FormatIso8601(c.updated_at));
  w.Key("version").Int(c.version);
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
  if (doc->at_key("totalSpending").get(v)) return bad("totalSpending");
  auto cents = json::ToCents(v);
  if (!cents) return bad("totalSpending");
  c.total_spending_cents = *cents;
  if (doc->at_key("visits").get(c.visits)) return bad("visits");
  if (!doc->at_key("lastVisit").get(v) && v.type() == element_type::STRING) {
    c.last_visit = ParseIso8601(v.get_string().value_unsafe());
  }
  if (doc->at_key("isActive").get(c.is_active)) return bad("isActive");
  if (doc->at_key("createdAt").get(s)) return bad("createdAt");
  c.created_at = ParseIso8601(s).value_or(0);
  if (doc->at_key("updatedAt").get(s)) return bad("updatedAt");
  c.updated_at = ParseIso8601(s).value_or(0);
  if (doc->at_key("version").get(c.version)) return bad("version");
  return c;
}

Result<std::string> UpcastCustomerRegisteredV1(std::string_view payload) {
  auto fields = DecodeCustomerFields(payload);
  if (!fields) return Fail(fields.error());
  return EncodeCustomerFields(WithDefaults(std::move(*fields)));
}

}  // namespace keel
