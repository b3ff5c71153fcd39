#include "domain/user_input.h"

#include <algorithm>
#include <functional>
#include <map>
#include <vector>

#include "domain/customer.h"
#include "domain/json_input.h"
#include "domain/text.h"

namespace keel {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

// Reads a JSON object body field by field: each known key has a reader that may add errors;
// unknown keys are errors too.
using FieldReader = std::function<void(element, std::vector<FieldError>&)>;

Status ReadObject(std::string_view body, const std::map<std::string_view, FieldReader>& readers,
                  std::vector<FieldError>& errors) {
  auto doc = json::Parse(body, "Request body", ErrorCode::kInvalidArgument);
  if (!doc) return Fail(doc.error());
  if (doc->type() != element_type::OBJECT) {
    return Fail(Error::InvalidArgument("Request body must be a JSON object"));
  }
  simdjson::dom::object obj = doc->get_object().value_unsafe();
  for (auto [key, value] : obj) {
    auto it = readers.find(key);
    if (it == readers.end()) {
      errors.push_back({std::string(key), "Unknown field"});
    } else {
      it->second(value, errors);
    }
  }
  return {};
}

FieldReader String(std::string_view field, std::optional<std::string>& out, size_t min, size_t max,
                   bool trim = true) {
  return [field, &out, min, max, trim](element v, std::vector<FieldError>& errors) {
    if (v.type() != element_type::STRING) {
      errors.push_back(
          {std::string(field), "Expected a string, got " + std::string(json::TypeName(v))});
      return;
    }
    std::string_view s = v.get_string().value_unsafe();
    if (trim) s = TrimSpace(s);
    const size_t len = Utf8Length(s);
    if (len < min || len > max) {
      errors.push_back({std::string(field), "Must be " + std::to_string(min) + " to " +
                                                std::to_string(max) + " characters"});
      return;
    }
    // Names, roles and descriptions are shown to people: no control characters. Passwords
    // (untrimmed) may hold anything.
    if (trim && std::any_of(s.begin(), s.end(), [](char c) {
          return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
        })) {
      errors.push_back({std::string(field), "Must not contain control characters"});
      return;
    }
    out = std::string(s);
  };
}

FieldReader Email(std::optional<std::string>& out) {
  return [&out](element v, std::vector<FieldError>& errors) {
    std::string email = v.type() == element_type::STRING
                            ? NormaliseEmail(v.get_string().value_unsafe())
                            : std::string();
    if (!IsValidEmail(email)) {
      errors.push_back({"email", "Invalid email address"});
      return;
    }
    out = std::move(email);
  };
}

FieldReader Password(std::optional<std::string>& out) {
  return String("password", out, kMinPasswordLength, kMaxPasswordLength, /*trim=*/false);
}

void Require(const std::optional<std::string>& v, std::string_view field,
             std::vector<FieldError>& errors) {
  if (v) return;
  for (const auto& e : errors) {
    if (e.field == field) return;
  }
  errors.push_back({std::string(field), "Is required"});
}

template <typename T>
Result<T> Done(T value, std::vector<FieldError>& errors) {
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return value;
}

}  // namespace

Result<LoginInput> ParseLoginInput(std::string_view body) {
  std::optional<std::string> email, password;
  std::vector<FieldError> errors;
  // Any password length is checked against the hash: a policy change must not lock anyone out.
  auto st = ReadObject(
      body, {{"email", Email(email)}, {"password", String("password", password, 1, 1024, false)}},
      errors);
  if (!st) return Fail(st.error());
  Require(email, "email", errors);
  Require(password, "password", errors);
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return LoginInput{*email, *password};
}

Result<NewUserInput> ParseNewUserInput(std::string_view body) {
  std::optional<std::string> name, email, password, role;
  std::vector<FieldError> errors;
  auto st = ReadObject(body,
                       {{"name", String("name", name, 1, 100)},
                        {"email", Email(email)},
                        {"password", Password(password)},
                        {"role", String("role", role, 1, 32)}},
                       errors);
  if (!st) return Fail(st.error());
  Require(name, "name", errors);
  Require(email, "email", errors);
  Require(password, "password", errors);
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return NewUserInput{*name, *email, *password, role.value_or(std::string(kRoleSalesRep))};
}

Result<UserPatchInput> ParseUserPatchInput(std::string_view body) {
  UserPatchInput in;
  std::vector<FieldError> errors;
  auto st = ReadObject(body,
                       {{"name", String("name", in.name, 1, 100)},
                        {"email", Email(in.email)},
                        {"password", Password(in.password)},
                        {"role", String("role", in.role, 1, 32)},
                        {"isActive",
                         [&in](element v, std::vector<FieldError>& errs) {
                           if (v.type() != element_type::BOOL) {
                             errs.push_back({"isActive", "Expected a boolean, got " +
                                                             std::string(json::TypeName(v))});
                           } else {
                             in.is_active = v.get_bool().value_unsafe();
                           }
                         }}},
                       errors);
  if (!st) return Fail(st.error());
  if (errors.empty() && !in.name && !in.email && !in.password && !in.role && !in.is_active) {
    errors.push_back({"body", "At least one field must be given"});
  }
  return Done(std::move(in), errors);
}

Result<RoleInfo> ParseRoleInput(std::string_view body) {
  std::optional<std::string> name, description;
  RoleInfo role;
  bool have_permissions = false;
  std::vector<FieldError> errors;
  auto st =
      ReadObject(body,
                 {{"name", String("name", name, 1, 32)},
                  {"description", String("description", description, 0, 500)},
                  {"permissions",
                   [&](element v, std::vector<FieldError>& errs) {
                     if (v.type() != element_type::ARRAY) {
                       errs.push_back({"permissions", "Expected an array of permission names"});
                       return;
                     }
                     have_permissions = true;
                     simdjson::dom::array list = v.get_array().value_unsafe();
                     for (element p : list) {
                       if (p.type() != element_type::STRING) {
                         errs.push_back({"permissions", "Expected an array of permission names"});
                         return;
                       }
                       role.permissions.emplace(p.get_string().value_unsafe());
                     }
                   }}},
                 errors);
  if (!st) return Fail(st.error());
  Require(name, "name", errors);
  if (!have_permissions && errors.empty()) errors.push_back({"permissions", "Is required"});
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  role.name = *name;
  role.description = description.value_or("");
  return role;
}

Result<PermissionInfo> ParsePermissionInput(std::string_view body) {
  std::optional<std::string> name, description;
  std::vector<FieldError> errors;
  auto st = ReadObject(body,
                       {{"name", String("name", name, 1, 64)},
                        {"description", String("description", description, 0, 500)}},
                       errors);
  if (!st) return Fail(st.error());
  Require(name, "name", errors);
  return Done(PermissionInfo{name.value_or(""), description.value_or("")}, errors);
}

Result<DevTokenInput> ParseDevTokenInput(std::string_view body) {
  DevTokenInput in;
  if (TrimSpace(body).empty()) return in;
  std::optional<std::string> email, role;
  std::vector<FieldError> errors;
  auto st =
      ReadObject(body, {{"email", Email(email)}, {"role", String("role", role, 1, 32)}}, errors);
  if (!st) return Fail(st.error());
  if (email) in.email = *email;
  if (role) in.role = *role;
  return Done(std::move(in), errors);
}

}  // namespace keel
