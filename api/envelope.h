// Response envelopes of seed 000 and the one mapping from error codes to HTTP statuses.
#pragma once

#include <string>
#include <string_view>

#include "domain/error.h"

namespace keel {

// {"success":true,"message":...,"data":<data_json>[,"meta":<meta_json>]}
std::string SuccessBody(std::string_view message, std::string_view data_json,
                        std::string_view meta_json = {});

// The validation envelope for kInvalidArgument with field errors, else the error envelope
// {"success":false,"message":...,"error":{"code":...,"details":...}}.
std::string ErrorBody(const Error& error);

int HttpStatusFor(ErrorCode code);

}  // namespace keel
