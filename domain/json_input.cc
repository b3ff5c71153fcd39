#include "domain/json_input.h"

#include <algorithm>
#include <cstring>

namespace keel::json {

using simdjson::dom::element_type;

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
      if (!std::isfinite(d) || std::fabs(d) > 1e15) return std::nullopt;
      const double scaled = d * 100.0;
      const double rounded = std::round(scaled);
      if (std::fabs(scaled - rounded) > 1e-6 * std::max(1.0, std::fabs(scaled))) {
        return std::nullopt;
      }
      return static_cast<int64_t>(rounded);
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

}  // namespace keel::json
