#include "domain/json_input.h"

#include <algorithm>
#include <cstring>

#include "domain/text.h"

namespace keel::json {

using simdjson::dom::element_type;

namespace {

// Amounts of this many currency units or more are not read as cents: their cents would not all
// be exact in a double (2^53 is about 9.007e15).
constexpr double kMaxExactUnits = 9e13;

}  // namespace

Result<simdjson::dom::element> Parse(std::string_view text, std::string_view what,
                                     ErrorCode code) {
  if (text.empty()) {
    return Fail(Error{code, std::string(what) + " is not valid JSON: it is empty", {}});
  }
  thread_local simdjson::dom::parser parser;
  thread_local simdjson::padded_string buffer;
  // Copy into a padded buffer: simdjson reads up to SIMDJSON_PADDING bytes past the end.
  if (buffer.size() < text.size() || (buffer.size() > (1u << 20) && text.size() < (1u << 16))) {
    buffer = simdjson::padded_string(text.size());
  }
  std::memcpy(buffer.data(), text.data(), text.size());
  simdjson::dom::element doc;
  auto err = parser.parse(buffer.data(), text.size(), false).get(doc);
  if (err) {
    return Fail(Error{code, std::string(what) + " is not valid JSON: " + simdjson::error_message(err), {}});
  }
  return doc;
}

std::optional<int64_t> ToCents(simdjson::dom::element v) {
  switch (v.type()) {
    case element_type::INT64: {
      const int64_t n = v.get_int64().value_unsafe();
      if (n > INT64_MAX / 100 || n < INT64_MIN / 100) return std::nullopt;
      return n * 100;
    }
    case element_type::UINT64: return std::nullopt;  // beyond any amount we accept
    case element_type::DOUBLE: {
      const double d = v.get_double().value_unsafe();
      if (!std::isfinite(d) || std::fabs(d) >= kMaxExactUnits) return std::nullopt;
      // Whole cents exactly: the number is the double nearest to some n / 100. Below 2^53 both
      // n and the quotient are exact or correctly rounded, as the JSON parser rounded the text,
      // so 12345.678 (nearest to no n / 100) is refused where a tolerance would round it.
      const double cents = std::round(d * 100.0);
      if (cents / 100.0 != d) return std::nullopt;
      return static_cast<int64_t>(cents);
    }
    default: return std::nullopt;
  }
}

std::optional<int64_t> ToInt(simdjson::dom::element v) {
  switch (v.type()) {
    case element_type::INT64: return v.get_int64().value_unsafe();
    case element_type::DOUBLE: {
      const double d = v.get_double().value_unsafe();
      if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9e15) return std::nullopt;
      return static_cast<int64_t>(d);
    }
    default: return std::nullopt;
  }
}

std::string_view TypeName(simdjson::dom::element v) {
  switch (v.type()) {
    case element_type::ARRAY: return "array";
    case element_type::OBJECT: return "object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: return "number";
    case element_type::STRING: return "string";
    case element_type::BOOL: return "boolean";
    case element_type::NULL_VALUE: return "null";
  }
  return "unknown";
}

Result<simdjson::dom::object> BodyObject(std::string_view body) {
  auto doc = Parse(body, "Request body", ErrorCode::kInvalidArgument);
  if (!doc) return Fail(doc.error());
  if (doc->type() != element_type::OBJECT) {
    return Fail(Error::InvalidArgument("Request body must be a JSON object"));
  }
  return doc->get_object().value_unsafe();
}

std::optional<std::string> ReadTrimmedText(simdjson::dom::element v, std::string_view field,
                                           size_t min, size_t max,
                                           std::vector<FieldError>& errors) {
  if (v.type() != element_type::STRING) {
    errors.push_back({std::string(field), "Expected a string, got " + std::string(TypeName(v))});
    return std::nullopt;
  }
  const std::string_view s = TrimSpace(v.get_string().value_unsafe());
  const size_t len = Utf8Length(s);
  if (len < min || len > max) {
    std::string message = "Must be ";
    message += std::to_string(min);
    message += " to ";
    message += std::to_string(max);
    message += " characters";
    errors.push_back({std::string(field), std::move(message)});
    return std::nullopt;
  }
  if (std::any_of(s.begin(), s.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    errors.push_back({std::string(field), "Must not contain control characters"});
    return std::nullopt;
  }
  return std::string(s);
}

}  // namespace keel::json
