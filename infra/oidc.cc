#include "infra/oidc.h"

#include <curl/curl.h>
#include <simdjson.h>

#include <memory>

#include "domain/text.h"
#include "infra/auth_crypto.h"

namespace keel {
namespace {

constexpr size_t kMaxPending = 10'000;
// Sign-ins in progress from one client address bucket: one client cannot fill the table that
// everyone's sign-ins share.
constexpr size_t kMaxPendingPerAddress = 20;
constexpr Millis kClockSkew = 60 * 1000;
constexpr Millis kMinJwksRefetch = 1000;

Error Refused(std::string why) { return Error::Unauthenticated("Google sign-in failed: " + why); }

size_t Collect(char* data, size_t size, size_t n, void* out) {
  auto* body = static_cast<std::string*>(out);
  if (body->size() + size * n > (1 << 20)) return 0;  // a provider's answer is small
  body->append(data, size * n);
  return size * n;
}

// An HTTPS request (POST when `form` is given). Refuses any other scheme.
Result<std::string> Fetch(const std::string& url, const std::string* form, const OidcConfig& cfg) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return Fail(Error::Internal("curl_easy_init failed"));
  std::string body;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  if (!cfg.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, cfg.ca_file.c_str());
  curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers,
                                                                          curl_slist_free_all);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  if (form) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, form->c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(form->size()));
  }
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    return Fail(Error::Unavailable("The identity provider at " + url +
                                   " could not be reached: " + curl_easy_strerror(rc)));
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    return Fail(Refused("the provider answered " + std::to_string(status) + " at " + url));
  }
  return body;
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

bool IsPlainLocalPath(std::string_view p) {
  if (p.empty() || p.size() >= 2048 || p[0] != '/') return false;
  if (p.size() > 1 && (p[1] == '/' || p[1] == '\\')) return false;
  for (unsigned char c : p) {
    if (IsControl(c) || c == '\\') return false;
  }
  return true;
}

}  // namespace

bool IsLocalReturnPath(std::string_view path) {
  return IsPlainLocalPath(path) && IsPlainLocalPath(PercentDecode(path));
}

OidcClient::OidcClient(OidcConfig config, Clock& clock)
    : config_(std::move(config)), clock_(clock) {}

std::string OidcClient::callback_path() const {
  const std::string& uri = config_.redirect_uri;
  const size_t scheme = uri.find("://");
  const size_t start = scheme == std::string::npos ? std::string::npos : uri.find('/', scheme + 3);
  if (start == std::string::npos) return std::string(kOidcCallbackPath);
  const size_t end = uri.find_first_of("?#", start);
  return uri.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

Result<OidcClient::Started> OidcClient::Begin(const std::string& return_to,
                                              const std::string& address_bucket) {
  if (!configured()) {
    return Fail(Error::Unavailable("Google sign-in is not configured (KEEL_GOOGLE_CLIENT_ID)"));
  }
  Pending p{crypto::RandomToken(32), crypto::RandomToken(16),
            IsLocalReturnPath(return_to) ? return_to : config_.success_redirect, clock_.NowMillis(),
            address_bucket};
  const std::string state = crypto::RandomToken(24);
  std::string url = config_.authorization_endpoint;
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += "response_type=code&client_id=" + PercentEncode(config_.client_id) +
         "&redirect_uri=" + PercentEncode(config_.redirect_uri) +
         "&scope=" + PercentEncode("openid email profile") + "&state=" + state +
         "&nonce=" + p.nonce + "&code_challenge=" + crypto::Sha256Base64Url(p.verifier) +
         "&code_challenge_method=S256";
  std::lock_guard lock(mu_);
  const Millis now = clock_.NowMillis();
  std::erase_if(pending_, [&](const auto& kv) {
    if (kv.second.created_at + kOidcSignInLifetime >= now) return false;
    ForgetAddressLocked(kv.second.address_bucket);
    return true;
  });
  if (pending_.size() >= kMaxPending) {
    return Fail(Error::ResourceExhausted("Too many sign-ins in progress: try again shortly"));
  }
  if (pending_per_address_[address_bucket] >= kMaxPendingPerAddress) {
    return Fail(Error::ResourceExhausted(
        "Too many sign-ins in progress from this address: finish one, or try again shortly"));
  }
  ++pending_per_address_[address_bucket];
  pending_.emplace(state, std::move(p));
  return Started{std::move(url), state};
}

Result<OidcIdentity> OidcClient::Complete(const std::string& state, const std::string& code,
                                          std::string_view browser_state) {
  if (!configured()) {
    return Fail(Error::Unavailable("Google sign-in is not configured (KEEL_GOOGLE_CLIENT_ID)"));
  }
  if (browser_state.empty() || !crypto::SameSecret(state, browser_state)) {
    return Fail(Refused(
        "this browser did not start this sign-in (its sign-in cookie is missing, expired or "
        "from another sign-in): start again"));
  }
  Pending pending;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(state);
    if (it == pending_.end() || it->second.created_at + kOidcSignInLifetime < clock_.NowMillis()) {
      if (it != pending_.end()) {
        ForgetAddressLocked(it->second.address_bucket);
        pending_.erase(it);
      }
      return Fail(Refused("the sign-in state is unknown, expired or already used"));
    }
    pending = std::move(it->second);
    ForgetAddressLocked(pending.address_bucket);
    pending_.erase(it);  // once only: a replayed callback is refused
  }
  const std::string form = "grant_type=authorization_code&code=" + PercentEncode(code) +
                           "&redirect_uri=" + PercentEncode(config_.redirect_uri) +
                           "&client_id=" + PercentEncode(config_.client_id) +
                           "&client_secret=" + PercentEncode(config_.client_secret) +
                           "&code_verifier=" + PercentEncode(pending.verifier);
  auto answer = Fetch(config_.token_endpoint, &form, config_);
  if (!answer) return Fail(answer.error());
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view id_token;
  if (parser.parse(*answer).get(doc) || doc["id_token"].get(id_token)) {
    return Fail(Refused("the token endpoint's answer holds no id_token"));
  }
  auto identity = VerifyIdToken(std::string(id_token), pending);
  if (!identity) return Fail(identity.error());
  identity->return_to = pending.return_to;
  return identity;
}

void OidcClient::ForgetAddressLocked(const std::string& address_bucket) {
  auto it = pending_per_address_.find(address_bucket);
  if (it != pending_per_address_.end() && --it->second == 0) pending_per_address_.erase(it);
}

// The provider's keys are fetched with no lock held (a fetch may take the request's whole
// timeout): a caller that finds a fetch in progress waits for it on keys_cv_, on a sign-in
// thread; Begin(), on the HTTP thread, never waits for a fetch.
Result<std::string> OidcClient::KeyFor(const std::string& kid) {
  {
    std::unique_lock lock(keys_mu_);
    keys_cv_.wait(lock, [this] { return !keys_fetching_; });
    if (auto it = keys_.find(kid); it != keys_.end()) return it->second;
    const Millis now = clock_.NowMillis();
    if (keys_fetched_at_ != 0 && now - keys_fetched_at_ < kMinJwksRefetch) {
      return Fail(Refused("the ID token names an unknown key " + kid));
    }
    keys_fetched_at_ = now;
    keys_fetching_ = true;
  }
  std::map<std::string, std::string> fresh;
  // Whatever happens below (an exception included), the fetch ends for the waiters.
  struct FetchEnds {
    OidcClient* self;
    ~FetchEnds() {
      std::lock_guard lock(self->keys_mu_);
      self->keys_fetching_ = false;
      self->keys_cv_.notify_all();
    }
  } fetch_ends{this};
  auto fetched = [&]() -> Status {
    auto jwks = Fetch(config_.jwks_uri, nullptr, config_);
    if (!jwks) return Fail(jwks.error());
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    simdjson::dom::array keys;
    if (parser.parse(*jwks).get(doc) || doc["keys"].get(keys)) {
      return Fail(Refused("the provider's JWKS is not a key set"));
    }
    for (simdjson::dom::element k : keys) {
      std::string_view kty, id, n, e;
      if (k["kty"].get(kty) || kty != "RSA" || k["kid"].get(id) || k["n"].get(n) || k["e"].get(e)) {
        continue;
      }
      if (auto pem = crypto::RsaPemFromJwk(n, e)) fresh.emplace(std::string(id), std::move(*pem));
    }
    return {};
  }();
  if (!fetched) return Fail(fetched.error());
  std::lock_guard lock(keys_mu_);
  keys_ = std::move(fresh);
  if (auto it = keys_.find(kid); it != keys_.end()) return it->second;
  return Fail(Refused("the ID token names an unknown key " + kid));
}

Result<OidcIdentity> OidcClient::VerifyIdToken(const std::string& token, const Pending& pending) {
  auto parts = crypto::SplitJwt(token);
  if (!parts) return Fail(Refused("the ID token is not a JWT"));
  simdjson::dom::parser parser;
  simdjson::dom::element header;
  std::string_view kid;
  if (parser.parse(parts->header_json).get(header) || header["kid"].get(kid)) {
    return Fail(Refused("the ID token names no key"));
  }
  auto key = KeyFor(std::string(kid));
  if (!key) return Fail(key.error());
  auto payload = crypto::VerifyRs256(token, *key);
  if (!payload) return Fail(Refused("the ID token's signature does not verify"));

  simdjson::dom::element claims;
  if (parser.parse(*payload).get(claims))
    return Fail(Refused("the ID token's claims are not JSON"));
  std::string_view iss, sub, nonce, email, name, picture, azp, hd;
  int64_t exp = 0, iat = 0;
  if (claims["iss"].get(iss) ||
      (iss != config_.issuer &&
       !(config_.issuer == "https://accounts.google.com" && iss == "accounts.google.com"))) {
    return Fail(Refused("the ID token's issuer is not " + config_.issuer));
  }
  bool audience_ok = false;
  bool several_audiences = false;
  simdjson::dom::element aud;
  if (!claims["aud"].get(aud)) {
    std::string_view one;
    if (!aud.get(one)) {
      audience_ok = one == config_.client_id;
    } else if (aud.is_array()) {
      simdjson::dom::array list = aud.get_array().value_unsafe();
      several_audiences = list.size() > 1;
      for (simdjson::dom::element a : list) {
        std::string_view s;
        if (!a.get(s) && s == config_.client_id) audience_ok = true;
      }
    }
  }
  if (!audience_ok) return Fail(Refused("the ID token is not meant for this client (aud)"));
  if (several_audiences && (claims["azp"].get(azp) || azp != config_.client_id)) {
    return Fail(Refused("the ID token's authorized party is not this client (azp)"));
  }
  const Millis now = clock_.NowMillis();
  if (claims["exp"].get(exp) || exp * 1000 + kClockSkew < now) {
    return Fail(Refused("the ID token has expired"));
  }
  if (!claims["iat"].get(iat) && iat * 1000 > now + 5 * kClockSkew) {
    return Fail(Refused("the ID token was issued in the future"));
  }
  if (claims["nonce"].get(nonce) || nonce != pending.nonce) {
    return Fail(Refused("the ID token's nonce does not match this sign-in"));
  }
  if (claims["sub"].get(sub) || sub.empty()) return Fail(Refused("the ID token names no subject"));
  if (claims["email"].get(email) || email.empty()) {
    return Fail(Refused("the ID token carries no email (ask for the email scope)"));
  }
  bool verified = false;  // an ID token that does not say so vouches for nothing
  if (simdjson::dom::element v; !claims["email_verified"].get(v)) {
    verified = v.is_bool() ? v.get_bool().value_unsafe()
                           : (v.is_string() && v.get_string().value_unsafe() == "true");
  }
  if (!verified) return Fail(Refused("the Google account's email is not verified"));
  OidcIdentity id;
  id.subject = sub;
  id.email = email;
  if (!claims["name"].get(name)) id.name = name;
  if (!claims["picture"].get(picture)) id.picture = std::string(picture);
  if (!claims["hd"].get(hd) && !hd.empty()) id.hosted_domain = std::string(hd);
  return id;
}

}  // namespace keel
