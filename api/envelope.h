// Response envelopes of seed 000 and the one mapping from error codes to HTTP statuses.
#pragma once

#include <string>
#include <string_view>

#include "domain/error.h"

namespace keel {

// {"success":true,"message":...,"data":<data_json>[,"meta":<meta_json>]}
std::string SuccessBody(std::string_view message, std::string_view data_json,
                        std::string_view meta_json = {});

// Where a client without a session is sent to sign in.
inline constexpr std::string_view kSignInPath = "/api/v1/auth/google";

// The validation envelope for kInvalidArgument with field errors; for kUnauthenticated the
// authentication envelope {"success":false,"message":...,"redirectUrl":"/api/v1/auth/google"}
// (with "error" too); else the error envelope
// {"success":false,"message":...,"error":{"code":...,"details":...}}.
std::string ErrorBody(const Error& error);

int HttpStatusFor(ErrorCode code);

}  // namespace keel
