// OidcClient: Google sign-in (OpenID Connect, authorization-code flow with PKCE, state and
// nonce). The endpoints default to Google's and are configurable, so that tests run the flow
// against their own provider.
//
// Begin() draws a state, a nonce and a PKCE verifier, remembers them for 10 minutes and
// returns the authorization URL and the state, which the caller binds to the browser (a cookie
// on the callback's path). Complete() refuses a callback whose state is not the one that browser
// holds (login CSRF: an attacker's own code and state, sent through a victim's browser), then
// takes the state back exactly once (a replayed state is refused), exchanges the code at the
// token endpoint over HTTPS (libcurl; never plain HTTP), and verifies the ID token: RS256
// against the provider's JWKS (cached; fetched again, at most once a second, when a token names
// an unknown key id), then iss, aud (and azp), exp, iat and nonce, and an email whose
// email_verified is true (absent counts as not verified).
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "domain/error.h"
#include "domain/time.h"

namespace keel {

struct OidcConfig {
  std::string client_id;  // empty: Google sign-in is not configured (the routes answer 503)
  std::string client_secret;
  std::string issuer = "https://accounts.google.com";
  std::string authorization_endpoint = "https://accounts.google.com/o/oauth2/v2/auth";
  std::string token_endpoint = "https://oauth2.googleapis.com/token";
  std::string jwks_uri = "https://www.googleapis.com/oauth2/v3/certs";
  std::string redirect_uri;  // this server's callback URL, as registered with the provider
  std::string ca_file;       // extra trusted CA certificates (PEM); empty: the system's
  std::string success_redirect = "/";  // where the browser goes after signing in
};

// How long a sign-in may take between Begin() and the callback.
inline constexpr Millis kOidcSignInLifetime = 10 * 60 * 1000;
// Where the provider sends the browser back, when the redirect URI names no path.
inline constexpr std::string_view kOidcCallbackPath = "/api/v1/auth/google/callback";

// Whether `path` may be where the browser goes after signing in: a path on this server. It is
// "/" or starts with one '/' followed by a byte that is neither '/', a backslash nor a control
// byte; it holds no control byte and no backslash anywhere; and all of this holds again once
// percent-decoded. (Browsers drop tabs and newlines from URLs and read a backslash as '/':
// "/<TAB>/evil.com" is "//evil.com", another site.)
bool IsLocalReturnPath(std::string_view path);

struct OidcIdentity {
  std::string subject;                       // the provider's user id ("sub"): our googleId
  std::string email;                         // verified
  std::optional<std::string> hosted_domain;  // "hd": a Google Workspace account's domain
  std::string name;
  std::optional<std::string> picture;
  std::string return_to;  // where Begin() was asked to send the browser afterwards
};

class OidcClient final {
 public:
  OidcClient(OidcConfig config, Clock& clock);

  bool configured() const { return !config_.client_id.empty(); }
  const OidcConfig& config() const { return config_; }

  // The path of the callback (the redirect URI's), to which the state cookie is limited.
  std::string callback_path() const;

  struct Started {
    std::string url;    // the provider's authorization URL, for the browser
    std::string state;  // to bind to the browser until the callback
  };
  // A new sign-in. `return_to` must pass IsLocalReturnPath ("/app"); other values fall back to
  // the configured success redirect.
  // `address_bucket`: the client's (AddressBucket); at most 20 sign-ins in progress each.
  Result<Started> Begin(const std::string& return_to, const std::string& address_bucket = "");
  // The identity behind the callback's state and code; `browser_state` is the state the
  // browser was given by Begin (empty: none). kUnauthenticated when anything fails to verify,
  // with the reason; a state that is not the browser's is refused before it is used up.
  Result<OidcIdentity> Complete(const std::string& state, const std::string& code,
                                std::string_view browser_state);

 private:
  struct Pending {
    std::string verifier;
    std::string nonce;
    std::string return_to;
    Millis created_at = 0;
    std::string address_bucket;
  };
  void ForgetAddressLocked(const std::string& address_bucket);  // mu_ held
  Result<std::string> KeyFor(const std::string& kid);           // PEM
  Result<OidcIdentity> VerifyIdToken(const std::string& token, const Pending& pending);

  OidcConfig config_;
  Clock& clock_;

  std::mutex mu_;
  std::unordered_map<std::string, Pending> pending_;             // by state; guarded by mu_
  std::unordered_map<std::string, size_t> pending_per_address_;  // guarded by mu_

  std::mutex keys_mu_;  // never held across a fetch
  std::condition_variable keys_cv_;
  std::map<std::string, std::string> keys_;  // kid → PEM; guarded by keys_mu_
  Millis keys_fetched_at_ = 0;               // guarded by keys_mu_
  bool keys_fetching_ = false;               // guarded by keys_mu_
};

}  // namespace keel
