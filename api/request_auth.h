// Who a request is from, and whether its route's access rule admits them: the server's
// authorize hook (HttpServer::Options::authorize), apart from the composition root.
//
// The session comes from "Authorization: Bearer <token>" or else the session cookie. A
// state-changing request signed in by the cookie must pass the CSRF guard first (a bearer
// header cannot be sent by another site's page). On a public route a missing or bad session is
// no error: the request goes on anonymous. A session the log says has ended (signed out or
// revoked, or its user disabled), by whichever process appended it, is refused once the
// sessions read model has the event, even if this process's own directory has not seen it.
#pragma once

#include <string_view>

#include "api/auth_service.h"
#include "api/csrf_guard.h"
#include "api/http_server.h"
#include "api/read_model.h"

namespace keel {

inline constexpr std::string_view kSessionCookieName = "keel_session";

// Sets req.principal, or refuses (401, 403) with the reason. `rule` is the route's access rule
// (api/access.h).
// `read_models`: whose live generation's sessions view is asked about a signed-in session.
Status AuthorizeRequest(AuthService& auth, const ReadModels& read_models, const CsrfGuard& csrf,
                        std::string_view rule, HttpRequest& req, const Route& route);

}  // namespace keel
