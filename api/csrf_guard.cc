#include "api/csrf_guard.h"

#include "domain/text.h"

namespace keel {
namespace {

constexpr std::string_view kBulkRoutes = "/api/v1/ingest/";

struct Origin {
  std::string scheme;     // "http" or "https"
  std::string authority;  // "host" or "host:port", the scheme's default port left out
};

// "Scheme://host[:port]" (a trailing '/' allowed), lowercased; nullopt for anything else,
// "null" and paths included.
std::optional<Origin> ParseOrigin(std::string_view text) {
  std::string s = AsciiLower(TrimSpace(text));
  if (s.ends_with('/')) s.pop_back();
  const size_t sep = s.find("://");
  if (sep == std::string::npos) return std::nullopt;
  Origin o{s.substr(0, sep), s.substr(sep + 3)};
  if ((o.scheme != "http" && o.scheme != "https") || o.authority.empty() ||
      o.authority.find_first_of("/?#@ \t\\") != std::string::npos) {
    return std::nullopt;
  }
  const std::string_view default_port = o.scheme == "https" ? ":443" : ":80";
  if (o.authority.ends_with(default_port)) {
    o.authority = o.authority.substr(0, o.authority.size() - default_port.size());
  }
  return o;
}

// The media type of a Content-Type value, lowercased, without parameters.
std::string MediaType(std::string_view content_type) {
  return AsciiLower(TrimSpace(content_type.substr(0, content_type.find(';'))));
}

}  // namespace

Result<CsrfGuard> CsrfGuard::Make(std::string_view public_origins, std::string_view redirect_uri) {
  CsrfGuard guard;
  for (const std::string_view entry : CommaList(public_origins)) {
    auto origin = ParseOrigin(entry);
    if (!origin) {
      return Fail(Error::InvalidArgument("KEEL_PUBLIC_ORIGINS: '" + std::string(entry) +
                                         "' is not an origin such as https://crm.example.com"));
    }
    guard.origins_.push_back(origin->scheme + "://" + origin->authority);
  }
  if (guard.origins_.empty() && !redirect_uri.empty()) {
    const size_t sep = redirect_uri.find("://");
    const size_t path = sep == std::string_view::npos ? sep : redirect_uri.find('/', sep + 3);
    auto origin = ParseOrigin(redirect_uri.substr(0, path));
    if (!origin) {
      return Fail(Error::InvalidArgument(
          "KEEL_OIDC_REDIRECT_URI is not an http(s) URL, so it gives no public origin: set "
          "KEEL_PUBLIC_ORIGINS"));
    }
    guard.origins_.push_back(origin->scheme + "://" + origin->authority);
  }
  return guard;
}

bool CsrfGuard::ChangesState(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

bool CsrfGuard::SameOrigin(const Request& request) const {
  auto origin = request.origin ? ParseOrigin(*request.origin) : std::nullopt;
  bool same = false;
  if (origin && !origins_.empty()) {
    const std::string text = origin->scheme + "://" + origin->authority;
    for (const auto& o : origins_) same = same || o == text;
  } else if (origin && request.host) {
    auto host = ParseOrigin(origin->scheme + "://" + std::string(TrimSpace(*request.host)));
    same = host && host->authority == origin->authority;
  }
  return same;
}

Status CsrfGuard::Check(const Request& request) const {
  if (!SameOrigin(request)) {
    return Fail(Error::PermissionDenied(
        "Cross-site request refused: a request signed in by the session cookie must come from "
        "Keel's own origin (Origin header)"));
  }
  const std::string type = request.content_type ? MediaType(*request.content_type) : "";
  if (type != "application/json" &&
      !(type == "application/x-ndjson" && request.route_pattern.starts_with(kBulkRoutes))) {
    return Fail(Error::PermissionDenied(
        "A request signed in by the session cookie must send Content-Type: application/json" +
        std::string(request.route_pattern.starts_with(kBulkRoutes) ? " or application/x-ndjson"
                                                                   : "")));
  }
  return {};
}

Status CsrfGuard::CheckAnonymous(const Request& request) const {
  if (request.origin && !SameOrigin(request)) {
    return Fail(Error::PermissionDenied(
        "Cross-site request refused: another site's page may not sign in or act here "
        "(Origin header)"));
  }
  return {};
}

}  // namespace keel
