// How far ahead of the command's clock a business date (an order's, a payment's) may lie.
#pragma once

#include <string>
#include <string_view>

#include "domain/error.h"
#include "domain/time.h"

namespace keel {

// A field error naming `field` when `date` lies more than `max_ahead` after `now`.
inline Status CheckNotTooFarAhead(std::string_view field, Millis date, Millis now,
                                  Millis max_ahead) {
  if (date <= now + max_ahead) return {};
  std::string message = "May not be more than a day after now (";
  message += FormatIso8601(now);
  message += ")";
  return Fail(Error::Validation({{std::string(field), std::move(message)}}));
}

}  // namespace keel
