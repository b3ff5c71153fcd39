// Helpers for reading JSON input with simdjson's DOM API: one parser per thread, reused.
// Used by domain/ decoders only; the parsed element is valid until the next Parse on the thread.
#pragma once

#include <simdjson.h>

#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/error.h"

namespace keel::json {

// Parses text into a DOM element owned by this thread's parser. `what` names the input in
// the error ("Request body", "Event"); the error code is `code`.
Result<simdjson::dom::element> Parse(std::string_view text, std::string_view what,
                                     ErrorCode code);

// Number → cents; nullopt if not a number, if it is not a whole number of cents (more than two
// decimals; judged on the parsed double, so digits beyond its 15 to 17 significant ones are not
// seen), or if its magnitude is 9e13 or more (far beyond any amount Keel takes).
std::optional<int64_t> ToCents(simdjson::dom::element v);
// Integral number (an integral double such as 3.0 counts).
std::optional<int64_t> ToInt(simdjson::dom::element v);

std::string_view TypeName(simdjson::dom::element v);

// A request body that must be a JSON object (kInvalidArgument otherwise).
Result<simdjson::dom::object> BodyObject(std::string_view body);

// A string of `min` to `max` code points once trimmed, without control characters; otherwise
// nullopt, with the error at `field` added to `errors`.
std::optional<std::string> ReadTrimmedText(simdjson::dom::element v, std::string_view field,
                                           size_t min, size_t max, std::vector<FieldError>& errors);

}  // namespace keel::json
