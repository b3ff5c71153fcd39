#include "api/request_auth.h"

#include <optional>
#include <string>

#include "api/access.h"

namespace keel {
namespace {

// The principal, unless the log says its session has ended (appended by any process).
Result<std::shared_ptr<const Principal>> CheckNotEnded(const ReadModels& read_models,
                                                       std::shared_ptr<const Principal> principal) {
  auto live = read_models.Current();
  if (!live || !live->sessions) return principal;
  auto ended = live->sessions->Ended(principal->session_id);
  if (!ended) return Fail(Error::Unavailable("Cannot check the session: " + ended.error().message));
  if (*ended)
    return Fail(Error::Unauthenticated("Session has ended: " + SessionEndedBecause(**ended)));
  return principal;
}

}  // namespace

Status AuthorizeRequest(AuthService& auth, const ReadModels& read_models, const CsrfGuard& csrf,
                        std::string_view rule, HttpRequest& req, const Route& route) {
  std::optional<std::string> header = req.header("Authorization");
  std::optional<std::string> cookie;
  std::string_view token;
  const auto origin = req.header("Origin");
  auto view = [](const std::optional<std::string>& v) {
    return v ? std::optional<std::string_view>(*v) : std::nullopt;
  };
  std::optional<std::string> host, content_type;  // what csrf_request's views point into
  auto csrf_request = [&] {
    host = req.header("Host");
    content_type = req.header("Content-Type");
    return CsrfGuard::Request{route.pattern, view(origin), view(host), view(content_type)};
  };
  if (header) {
    std::string_view v = *header;
    if (v.size() < 8 || !(v.substr(0, 7) == "Bearer " || v.substr(0, 7) == "bearer ")) {
      if (rule == "public") return {};
      return Fail(Error::Unauthenticated("The Authorization header must be 'Bearer <token>'"));
    }
    token = v.substr(7);
  } else if ((cookie = req.cookie(std::string(kSessionCookieName))) && !cookie->empty()) {
    token = *cookie;
    if (CsrfGuard::ChangesState(req.method)) {
      if (auto st = csrf.Check(csrf_request()); !st) return st;
    }
  } else if (CsrfGuard::ChangesState(req.method) && origin) {
    if (auto st = csrf.CheckAnonymous(csrf_request()); !st) return st;
  }
  if (!token.empty()) {
    auto principal = auth.Authenticate(token);
    if (principal) principal = CheckNotEnded(read_models, std::move(*principal));
    if (principal) {
      req.principal = std::move(*principal);
    } else if (rule != "public") {
      return Fail(principal.error());
    }
  }
  return CheckAccess(rule, req.principal.get());
}

}  // namespace keel
