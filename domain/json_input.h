// Helpers for reading JSON input with simdjson's DOM API: one parser per thread, reused.
// Used by domain/ decoders only; the parsed element is valid until the next Parse on the thread.
#pragma once

#include <simdjson.h>

#include <cmath>
#include <optional>
#include <string>
#include <string_view>

#include "domain/error.h"

namespace keel::json {

// Parses text into a DOM element owned by this thread's parser. `what` names the input in
// the error ("Request body", "Event"); the error code is `code`.
Result<simdjson::dom::element> Parse(std::string_view text, std::string_view what,
                                     ErrorCode code);

// Number → cents; nullopt if not a number, negative zero aside, or more than two decimals.
std::optional<int64_t> ToCents(simdjson::dom::element v);
// Integral number (an integral double such as 3.0 counts).
std::optional<int64_t> ToInt(simdjson::dom::element v);

std::string_view TypeName(simdjson::dom::element v);

}  // namespace keel::json
