// Sign-in (password, Google, dev tokens), sessions, and the admin's users, roles and
// permissions.
#include "api/auth_service.h"
#include "api/envelope.h"
#include "api/request_auth.h"
#include "api/route_helpers.h"
#include "domain/json.h"
#include "domain/user_input.h"
#include "infra/oidc.h"

namespace keel {
namespace {

constexpr std::string_view kSessionCookie = kSessionCookieName;
// Binds a Google sign-in to the browser that started it: the state, until the callback.
constexpr std::string_view kSignInStateCookie = "keel_oidc_state";

std::string Cookie(const AuthService& auth, std::string_view name, std::string_view value,
                   std::string_view path, Millis max_age_ms) {
  std::string c = std::string(name) + "=" + std::string(value) + "; Path=" + std::string(path) +
                  "; HttpOnly; SameSite=Lax; Max-Age=" + std::to_string(max_age_ms / 1000);
  if (!auth.config().dev_mode) c += "; Secure";
  return c;
}

std::string SessionCookie(const AuthService& auth, const std::string& token, Millis max_age_ms) {
  return Cookie(auth, kSessionCookie, token, "/", max_age_ms);
}

// {"token":..,"expiresAt":..,"user":{..}}
std::string SessionData(const SessionToken& s) {
  JsonWriter w;
  w.BeginObject();
  w.Key("token").String(s.token);
  w.Key("tokenType").String("Bearer");
  w.Key("expiresAt").String(FormatIso8601(s.session.expires_at));
  w.Key("user").Raw(s.user_json);
  w.EndObject();
  return w.Take();
}

void SendSession(AuthService& auth, HttpResponder& r, const SessionToken& s,
                 std::string_view message, int status = 200, Headers headers = {}) {
  headers.emplace_back("Set-Cookie", SessionCookie(auth, s.token, auth.config().session_lifetime));
  headers.emplace_back("Cache-Control", "no-store");
  r.Send(status, SuccessBody(message, SessionData(s)), headers);
}

// Runs `body` with the request's command metadata, or answers the error.
template <typename F>
void WithMeta(HttpRequest& req, HttpResponder& r, F body) {
  auto meta = MetaFor(req);
  if (!meta) return SendError(r, meta.error());
  body(*meta);
}

std::string MeJson(const Principal& p, const std::string& user_json) {
  JsonWriter w;
  w.BeginObject();
  w.Key("user").Raw(user_json);
  w.Key("permissions").BeginArray();
  for (const auto& perm : p.permissions) w.String(perm);
  w.EndArray();
  w.Key("sessionId").String(p.session_id);
  w.EndObject();
  return w.Take();
}

// Every route below that hashes a password, asks Google or appends a user command runs its
// work OffThread: the request is parsed and its metadata taken on the HTTP thread, and the
// rest (captured by value) on the blocking-work threads.
void AddUserRoutes(HttpServer& server, RouteContext& ctx) {
  AuthService& auth = *ctx.auth;
  auto register_user = [&auth, &ctx](HttpRequest& req, HttpResponder r) {
    auto in = ParseNewUserInput(req.body);
    if (!in) return SendError(r, in.error());
    WithMeta(req, r, [&](const CommandMeta& meta) {
      OffThread(*ctx.user_commands, r, [&auth, in = std::move(*in), meta](HttpResponder& r) {
        auto user = auth.RegisterUser({.name = in.name, .email = in.email, .role = in.role},
                                      in.password, meta);
        if (!user) return SendError(r, user.error());
        r.Send(201, SuccessBody("User registered", *user));
      });
    });
  };
  server.AddRoute("POST", "/api/v1/auth/register", register_user);
  server.AddRoute("POST", "/api/v1/users", register_user);
  server.AddRoute("GET", "/api/v1/users", [&auth](HttpRequest&, HttpResponder r) {
    auto users = auth.UsersJson();
    r.Send(200, SuccessBody("Users retrieved", JsonArray(users),
                            R"({"total":)" + std::to_string(users.size()) + "}"));
  });
  server.AddRoute("GET", "/api/v1/users/:id", [&auth](HttpRequest& req, HttpResponder r) {
    auto user = auth.UserJson(req.params["id"]);
    if (!user) return SendError(r, Error::NotFound("User " + req.params["id"] + " not found"));
    r.Send(200, SuccessBody("User retrieved", *user));
  });
  server.AddRoute("PATCH", "/api/v1/users/:id", [&auth, &ctx](HttpRequest& req, HttpResponder r) {
    auto in = ParseUserPatchInput(req.body);
    if (!in) return SendError(r, in.error());
    auto expected = ExpectedVersion(req);
    if (!expected) return SendError(r, expected.error());
    WithMeta(req, r, [&](const CommandMeta& meta) {
      UserChange change{.name = in->name,
                        .email = in->email,
                        .role = in->role,
                        .is_active = in->is_active,
                        .expected_version = *expected};
      if (req.principal) change.acting_session_id = req.principal->session_id;
      OffThread(*ctx.user_commands, r,
                [&auth, id = req.params["id"], change = std::move(change),
                 password = std::move(in->password), meta](HttpResponder& r) {
                  auto user = auth.ChangeUser(id, change, password, meta);
                  if (!user) return SendError(r, user.error());
                  r.Send(200, SuccessBody("User updated", *user));
                });
    });
  });
  server.AddRoute("GET", "/api/v1/roles", [&auth](HttpRequest&, HttpResponder r) {
    r.Send(200, SuccessBody("Roles retrieved", JsonArray(auth.RolesJson())));
  });
  server.AddRoute("POST", "/api/v1/roles", [&auth, &ctx](HttpRequest& req, HttpResponder r) {
    auto in = ParseRoleInput(req.body);
    if (!in) return SendError(r, in.error());
    WithMeta(req, r, [&](const CommandMeta& meta) {
      OffThread(*ctx.user_commands, r, [&auth, in = std::move(*in), meta](HttpResponder& r) {
        auto role = auth.DefineRole(in, meta);
        if (!role) return SendError(r, role.error());
        r.Send(201, SuccessBody("Role defined", *role));
      });
    });
  });
  server.AddRoute("GET", "/api/v1/permissions", [&auth](HttpRequest&, HttpResponder r) {
    r.Send(200, SuccessBody("Permissions retrieved", JsonArray(auth.PermissionsJson())));
  });
  server.AddRoute("POST", "/api/v1/permissions", [&auth, &ctx](HttpRequest& req, HttpResponder r) {
    auto in = ParsePermissionInput(req.body);
    if (!in) return SendError(r, in.error());
    WithMeta(req, r, [&](const CommandMeta& meta) {
      OffThread(*ctx.user_commands, r, [&auth, in = std::move(*in), meta](HttpResponder& r) {
        auto perm = auth.DefinePermission(in, meta);
        if (!perm) return SendError(r, perm.error());
        r.Send(201, SuccessBody("Permission defined", *perm));
      });
    });
  });
}

}  // namespace

void AddAuthRoutes(HttpServer& server, RouteContext& ctx) {
  AuthService& auth = *ctx.auth;
  server.AddRoute("POST", "/api/v1/auth/login", [&auth, &ctx](HttpRequest& req, HttpResponder r) {
    auto in = ParseLoginInput(req.body);
    if (!in) return SendError(r, in.error());
    WithMeta(req, r, [&](const CommandMeta& meta) {
      OffThread(
          *ctx.sign_ins, r,
          [&auth, in = std::move(*in), address = req.client_address, meta](HttpResponder& r) {
            auto session = auth.Login(in.email, in.password, address, meta);
            if (!session) {
              Headers h;
              if (session.error().code == ErrorCode::kResourceExhausted)
                h.emplace_back("Retry-After", "900");
              return SendError(r, session.error(), h);
            }
            SendSession(auth, r, *session, "Signed in");
          },
          AddressBucket(req.client_address));
    });
  });
  server.AddRoute("POST", "/api/v1/auth/logout", [&auth, &ctx](HttpRequest& req, HttpResponder r) {
    WithMeta(req, r, [&](const CommandMeta& meta) {
      OffThread(*ctx.user_commands, r, [&auth, who = req.principal, meta](HttpResponder& r) {
        if (auto st = auth.Logout(*who, meta); !st) return SendError(r, st.error());
        r.Send(200, SuccessBody("Signed out", "null"),
               {{"Set-Cookie", SessionCookie(auth, "", 0)}, {"Cache-Control", "no-store"}});
      });
    });
  });
  server.AddRoute("GET", "/api/v1/auth/me", [&auth](HttpRequest& req, HttpResponder r) {
    auto user = auth.UserJson(req.principal->user_id);
    if (!user) return SendError(r, Error::Unauthenticated("Account is unknown"));
    r.Send(200, SuccessBody("Current user", MeJson(*req.principal, *user)));
  });
  if (auth.config().dev_mode) {
    server.AddRoute("POST", "/api/v1/auth/dev-token",
                    [&auth, &ctx](HttpRequest& req, HttpResponder r) {
                      auto in = ParseDevTokenInput(req.body);
                      if (!in) return SendError(r, in.error());
                      WithMeta(req, r, [&](CommandMeta meta) {
                        meta.actor = "system:dev-token";
                        OffThread(
                            *ctx.sign_ins, r,
                            [&auth, in = std::move(*in), meta](HttpResponder& r) {
                              auto id = auth.EnsureDevUser(in.email, in.role, meta);
                              if (!id) return SendError(r, id.error());
                              auto session = auth.StartSession(*id, "dev", meta);
                              if (!session) return SendError(r, session.error());
                              SendSession(auth, r, *session, "Dev token issued (KEEL_DEV_MODE)");
                            },
                            AddressBucket(req.client_address));
                      });
                    });
  }

  OidcClient* oidc = ctx.oidc;
  server.AddRoute("GET", "/api/v1/auth/google", [&auth, oidc](HttpRequest& req, HttpResponder r) {
    const std::string* return_to = QueryParam(req, "returnTo");
    auto started = oidc->Begin(return_to ? *return_to : "", AddressBucket(req.client_address));
    if (!started) return SendError(r, started.error());
    r.Send(302, SuccessBody("Redirecting to the identity provider", "null"),
           {{"Location", started->url},
            {"Set-Cookie", Cookie(auth, kSignInStateCookie, started->state, oidc->callback_path(),
                                  kOidcSignInLifetime)},
            {"Cache-Control", "no-store"}});
  });
  server.AddRoute(
      "GET", "/api/v1/auth/google/callback",
      [&auth, &ctx, oidc](HttpRequest& req, HttpResponder r) {
        if (const std::string* error = QueryParam(req, "error")) {
          return SendError(
              r, Error::Unauthenticated("Google sign-in was refused: " + error->substr(0, 200)));
        }
        const std::string* state = QueryParam(req, "state");
        const std::string* code = QueryParam(req, "code");
        if (!state || !code) {
          return SendError(r, Error::Validation({{"state", "The callback needs state and code"}}));
        }
        // A refused callback leaves the cookie be: it may be the browser's own sign-in in
        // progress, which someone else's state must not spoil.
        std::string browser_state = req.cookie(std::string(kSignInStateCookie)).value_or("");
        WithMeta(req, r, [&](const CommandMeta& meta) {
          OffThread(
              *ctx.sign_ins, r,
              [&auth, oidc, state = *state, code = *code, browser_state = std::move(browser_state),
               meta](HttpResponder& r) {
                auto identity = oidc->Complete(state, code, browser_state);
                if (!identity) return SendError(r, identity.error());
                auto id = auth.UpsertGoogleUser(identity->subject, identity->email,
                                                identity->hosted_domain, identity->name,
                                                identity->picture, meta);
                if (!id) return SendError(r, id.error());
                auto session = auth.StartSession(*id, "google", meta);
                if (!session) return SendError(r, session.error());
                SendSession(auth, r, *session, "Signed in with Google", 302,
                            {{"Location", identity->return_to},
                             {"Set-Cookie",
                              Cookie(auth, kSignInStateCookie, "", oidc->callback_path(), 0)}});
              },
              AddressBucket(req.client_address));
        });
      });
  AddUserRoutes(server, ctx);
}

}  // namespace keel
