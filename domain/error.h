// Error: the one error value carried below the HTTP layer, in std::expected.
// Codes say what the caller should do (abseil's convention); api/ maps them to statuses in one
// place. A value type: copy freely.
#pragma once

#include <expected>
#include <string>
#include <utility>
#include <vector>

namespace keel {

enum class ErrorCode {
  kInvalidArgument,     // fix the input (400); field_errors lists every violation
  kNotFound,            // no such resource (404)
  kAlreadyExists,       // a unique value is taken (409)
  kAborted,             // stale expected version or request in flight: re-read, retry (409)
  kFailedPrecondition,  // a business rule refused the command (409)
  kPayloadTooLarge,     // body over the limit (413)
  kUnauthenticated,     // no valid session: sign in (401)
  kPermissionDenied,    // signed in, but the role does not allow it (403)
  kResourceExhausted,   // too many attempts: wait (429)
  kUnavailable,         // retry later: the log or the broker is down (503)
  kDataLoss,            // an undecodable event
  kInternal,            // a bug or an I/O failure (500)
};

struct FieldError {
  std::string field;
  std::string message;
  bool operator==(const FieldError&) const = default;
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::vector<FieldError> field_errors;

  static Error InvalidArgument(std::string msg) { return {ErrorCode::kInvalidArgument, std::move(msg), {}}; }
  static Error Validation(std::vector<FieldError> fields) {
    return {ErrorCode::kInvalidArgument, "Validation failed", std::move(fields)};
  }
  static Error NotFound(std::string msg) { return {ErrorCode::kNotFound, std::move(msg), {}}; }
  static Error AlreadyExists(std::string msg) { return {ErrorCode::kAlreadyExists, std::move(msg), {}}; }
  static Error Aborted(std::string msg) { return {ErrorCode::kAborted, std::move(msg), {}}; }
  static Error FailedPrecondition(std::string msg) {
    return {ErrorCode::kFailedPrecondition, std::move(msg), {}};
  }
  static Error PayloadTooLarge(std::string msg) { return {ErrorCode::kPayloadTooLarge, std::move(msg), {}}; }
  static Error Unauthenticated(std::string msg) { return {ErrorCode::kUnauthenticated, std::move(msg), {}}; }
  static Error PermissionDenied(std::string msg) { return {ErrorCode::kPermissionDenied, std::move(msg), {}}; }
  static Error ResourceExhausted(std::string msg) { return {ErrorCode::kResourceExhausted, std::move(msg), {}}; }
  static Error Unavailable(std::string msg) { return {ErrorCode::kUnavailable, std::move(msg), {}}; }
  static Error DataLoss(std::string msg) { return {ErrorCode::kDataLoss, std::move(msg), {}}; }
  static Error Internal(std::string msg) { return {ErrorCode::kInternal, std::move(msg), {}}; }
};

// The stable, machine-readable name of a code, as served in `error.code`.
const char* ErrorCodeName(ErrorCode code);

template <typename T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> Fail(Error e) { return std::unexpected<Error>(std::move(e)); }

}  // namespace keel
