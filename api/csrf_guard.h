// CsrfGuard: a browser sends its session cookie with every request to Keel, those another site
// makes it send included. So a request that changes state (POST, PUT, PATCH, DELETE) and is
// signed in by the session cookie, not by an Authorization header, must show that it comes
// from Keel's own pages: an Origin header equal to one of Keel's public origins, and a JSON
// Content-Type (application/json; on bulk ingestion routes application/x-ndjson too), which a
// cross-site form cannot send and a cross-site script cannot send without a CORS preflight
// that Keel never grants. Anything else is refused (kPermissionDenied: 403).
//
// The public origins ("https://crm.example.com", KEEL_PUBLIC_ORIGINS) default to the origin of
// the Google redirect URI when one is configured, else to the origin the request's own Host
// header names (scheme not compared: Keel may sit behind a TLS-terminating proxy).
//
// A state-changing request with no session at all (a password sign-in) is refused when it
// names another site's Origin: a page elsewhere posting a form would otherwise sign the
// browser in to an account of the attacker's (login CSRF). Without an Origin (not a browser)
// it passes.
//
// A value; pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/error.h"

namespace keel {

class CsrfGuard final {
 public:
  CsrfGuard() = default;  // the Host header's origin
  // `public_origins`: comma-separated "scheme://host[:port]"; empty: the origin of
  // `redirect_uri`, or, when that is empty too, the Host header's. kInvalidArgument for an
  // entry that is not an http(s) origin.
  static Result<CsrfGuard> Make(std::string_view public_origins, std::string_view redirect_uri);

  // Whether a request with this method changes state, and so is checked.
  static bool ChangesState(std::string_view method);

  struct Request {
    std::string_view route_pattern;  // "/api/v1/ingest/customers"
    std::optional<std::string_view> origin;
    std::optional<std::string_view> host;
    std::optional<std::string_view> content_type;
  };
  // For a state-changing request signed in by the session cookie.
  Status Check(const Request& request) const;
  // For a state-changing request that carries no session.
  Status CheckAnonymous(const Request& request) const;

  const std::vector<std::string>& origins() const { return origins_; }

 private:
  bool SameOrigin(const Request& request) const;

  std::vector<std::string> origins_;  // normalised; empty: the Host header's
};

}  // namespace keel
