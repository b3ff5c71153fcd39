#include "api/envelope.h"

#include "domain/json.h"

namespace keel {

std::string SuccessBody(std::string_view message, std::string_view data_json,
                        std::string_view meta_json) {
  JsonWriter w;
  w.BeginObject();
  w.Key("success").Bool(true);
  w.Key("message").String(message);
  w.Key("data").Raw(data_json.empty() ? "null" : data_json);
  if (!meta_json.empty()) w.Key("meta").Raw(meta_json);
  w.EndObject();
  return w.Take();
}

std::string ErrorBody(const Error& error) {
  JsonWriter w;
  w.BeginObject();
  w.Key("success").Bool(false);
  if (error.code == ErrorCode::kUnauthenticated) {  // seed 000's authentication envelope
    w.Key("message").String(error.message);
    w.Key("redirectUrl").String(kSignInPath);
    w.Key("error").BeginObject();
    w.Key("code").String(ErrorCodeName(error.code));
    w.Key("details").String(error.message);
    w.EndObject();
  } else if (error.code == ErrorCode::kInvalidArgument && !error.field_errors.empty()) {
    w.Key("message").String("Validation failed");
    w.Key("errors").BeginArray();
    for (const auto& f : error.field_errors) {
      w.BeginObject().Key("field").String(f.field).Key("message").String(f.message).EndObject();
    }
    w.EndArray();
  } else {
    w.Key("message").String(error.message);
    w.Key("error").BeginObject();
    w.Key("code").String(ErrorCodeName(error.code));
    w.Key("details").String(error.message);
    w.EndObject();
  }
  w.EndObject();
  return w.Take();
}

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kAborted:
    case ErrorCode::kFailedPrecondition: return 409;
    case ErrorCode::kPayloadTooLarge: return 413;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kResourceExhausted: return 429;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kDataLoss:
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

}  // namespace keel
