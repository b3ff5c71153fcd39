// A small OpenID Connect provider for tests, over real HTTPS (Boost.Beast, OpenSSL) with its own
// self-signed certificate and RSA signing keys: a token endpoint that checks the PKCE verifier
// and answers a signed ID token, and a JWKS endpoint. The authorization step (a person signing
// in at Google) is Authorize(): it takes the parameters Keel put in its redirect and returns
// the code the browser would bring back. Knobs let a test forge what a bad provider would.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "domain/json.h"
#include "infra/auth_crypto.h"
#include "tests/rsa_test_key.h"
#include "tests/test_util.h"

namespace keel::testing {

// "a=1&b=2" (form or query string) → map, percent-decoded.
inline std::map<std::string, std::string> ParseForm(std::string_view text) {
  auto decode = [](std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && i + 2 < s.size()) {
        out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        out += s[i] == '+' ? ' ' : s[i];
      }
    }
    return out;
  };
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('&', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view pair = text.substr(start, end - start);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos) out[decode(pair.substr(0, eq))] = decode(pair.substr(eq + 1));
    start = end + 1;
  }
  return out;
}

class OidcTestProvider {
 public:
  struct Identity {
    std::string sub = "google-sub-1";
    std::string email = "ann@gmail.test";
    std::string name = "Ann Example";
    std::optional<bool> email_verified = true;  // nullopt: the claim is left out
    std::string hosted_domain;                  // the "hd" claim; empty: left out
  };
  // What the next ID token says, for tests of a bad provider.
  struct Forgery {
    std::string audience;        // empty: the client id
    int64_t expires_in = 3600;   // seconds from now; negative: already expired
    std::string nonce;           // empty: the one the authorization carried
    bool sign_with_stranger = false;  // a key that is not in the JWKS, under a known kid
  };

  OidcTestProvider(std::string client_id, std::string client_secret)
      : client_id_(std::move(client_id)),
        client_secret_(std::move(client_secret)),
        ssl_(boost::asio::ssl::context::tls_server),
        acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    keys_["key-1"] = GenerateRsaTestKey();
    stranger_ = GenerateRsaTestKey();
    MakeCertificate();
    ssl_.use_certificate_chain(boost::asio::buffer(cert_pem_));
    ssl_.use_private_key(boost::asio::buffer(key_pem_), boost::asio::ssl::context::pem);
    std::ofstream(dir_.path() + "/ca.pem") << cert_pem_;
    thread_ = std::thread([this] { Serve(); });
  }
  ~OidcTestProvider() {
    stop_ = true;
    boost::system::error_code ec;
    boost::asio::ip::tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);  // wakes the blocking accept
    thread_.join();
  }

  std::string base() const {
    return "https://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  std::string ca_file() const { return dir_.path() + "/ca.pem"; }
  std::string issuer() const { return base(); }

  // The person signs in: Keel's authorization URL in, the code for the callback out.
  std::string Authorize(const std::string& authorization_url) {
    return Authorize(authorization_url, Identity());
  }
  std::string Authorize(const std::string& authorization_url, Identity who) {
    auto params = ParseForm(authorization_url.substr(authorization_url.find('?') + 1));
    std::lock_guard lock(mu_);
    const std::string code = crypto::RandomToken(16);
    codes_[code] = {params["nonce"], params["code_challenge"], params["redirect_uri"],
                    params["client_id"], std::move(who)};
    last_authorization_ = std::move(params);
    return code;
  }
  std::map<std::string, std::string> last_authorization() {
    std::lock_guard lock(mu_);
    return last_authorization_;
  }
  void Forge(Forgery f) {
    std::lock_guard lock(mu_);
    forgery_ = std::move(f);
  }
  // A new signing key, under a new kid, used from now on (the JWKS serves both).
  void RotateKey(const std::string& kid) {
    std::lock_guard lock(mu_);
    keys_[kid] = GenerateRsaTestKey();
    current_kid_ = kid;
  }
  int jwks_fetches() const { return jwks_fetches_.load(); }
  int token_requests() const { return token_requests_.load(); }

 private:
  struct Grant {
    std::string nonce, challenge, redirect_uri, client_id;
    Identity who;
  };

  void MakeCertificate() {
    EVP_PKEY* key = EVP_RSA_gen(2048);
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                              std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                              std::pair{NID_key_usage, "critical,digitalSignature,keyCertSign"}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
      X509_add_ext(cert, ext, -1);
      X509_EXTENSION_free(ext);
    }
    X509_sign(cert, key, EVP_sha256());
    auto to_pem = [](auto write) {
      BIO* bio = BIO_new(BIO_s_mem());
      write(bio);
      char* data = nullptr;
      const long len = BIO_get_mem_data(bio, &data);
      std::string pem(data, static_cast<size_t>(len));
      BIO_free(bio);
      return pem;
    };
    cert_pem_ = to_pem([&](BIO* b) { PEM_write_bio_X509(b, cert); });
    key_pem_ = to_pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
    X509_free(cert);
    EVP_PKEY_free(key);
  }

  void Serve() {
    namespace http = boost::beast::http;
    while (!stop_) {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (ec || stop_) continue;
      boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream(std::move(socket), ssl_);
      stream.handshake(boost::asio::ssl::stream_base::server, ec);
      if (ec) continue;
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(stream, buffer, req, ec);
      if (ec) continue;
      http::response<http::string_body> res;
      res.version(req.version());
      res.keep_alive(false);
      res.set(http::field::content_type, "application/json");
      const std::string target(req.target());
      if (req.method() == http::verb::get && target == "/jwks") {
        ++jwks_fetches_;
        res.result(http::status::ok);
        res.body() = Jwks();
      } else if (req.method() == http::verb::post && target == "/token") {
        ++token_requests_;
        auto [status, body] = Token(ParseForm(req.body()));
        res.result(status);
        res.body() = body;
      } else {
        res.result(http::status::not_found);
        res.body() = R"({"error":"not_found"})";
      }
      res.prepare_payload();
      http::write(stream, res, ec);
      stream.shutdown(ec);
    }
  }

  std::string Jwks() {
    std::lock_guard lock(mu_);
    JsonWriter w;
    w.BeginObject().Key("keys").BeginArray();
    for (const auto& [kid, key] : keys_) {
      w.BeginObject().Key("kty").String("RSA").Key("kid").String(kid).Key("use").String("sig");
      w.Key("alg").String("RS256").Key("n").String(key.n).Key("e").String(key.e).EndObject();
    }
    w.EndArray().EndObject();
    return w.Take();
  }

  std::pair<boost::beast::http::status, std::string> Token(std::map<std::string, std::string> form) {
    using boost::beast::http::status;
    std::lock_guard lock(mu_);
    auto it = codes_.find(form["code"]);
    if (form["grant_type"] != "authorization_code" || it == codes_.end()) {
      return {status::bad_request, R"({"error":"invalid_grant"})"};
    }
    Grant grant = it->second;
    codes_.erase(it);  // codes are single-use
    if (form["client_id"] != client_id_ || form["client_secret"] != client_secret_ ||
        form["redirect_uri"] != grant.redirect_uri) {
      return {status::unauthorized, R"({"error":"invalid_client"})"};
    }
    if (crypto::Sha256Base64Url(form["code_verifier"]) != grant.challenge) {
      return {status::bad_request, R"({"error":"invalid_grant","error_description":"PKCE"})"};
    }
    const int64_t now = std::time(nullptr);
    JsonWriter claims;
    claims.BeginObject();
    claims.Key("iss").String(issuer());
    claims.Key("aud").String(forgery_.audience.empty() ? client_id_ : forgery_.audience);
    claims.Key("sub").String(grant.who.sub);
    claims.Key("email").String(grant.who.email);
    if (grant.who.email_verified) claims.Key("email_verified").Bool(*grant.who.email_verified);
    if (!grant.who.hosted_domain.empty()) claims.Key("hd").String(grant.who.hosted_domain);
    claims.Key("name").String(grant.who.name);
    claims.Key("picture").String("https://example.test/ann.png");
    claims.Key("nonce").String(forgery_.nonce.empty() ? grant.nonce : forgery_.nonce);
    claims.Key("iat").Int(now);
    claims.Key("exp").Int(now + forgery_.expires_in);
    claims.EndObject();
    const auto& key = forgery_.sign_with_stranger ? stranger_ : keys_.at(current_kid_);
    auto token = crypto::SignRs256(R"({"kid":")" + current_kid_ + R"("})", claims.str(),
                                   key.private_pem);
    forgery_ = {};
    if (!token) return {status::internal_server_error, R"({"error":"signing"})"};
    return {status::ok, R"({"access_token":"at","token_type":"Bearer","expires_in":3600,"id_token":")" +
                            *token + R"("})"};
  }

  std::string client_id_, client_secret_;
  TempDir dir_;
  boost::asio::io_context io_;
  boost::asio::ssl::context ssl_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::string cert_pem_, key_pem_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::atomic<int> jwks_fetches_{0}, token_requests_{0};

  std::mutex mu_;
  std::map<std::string, RsaTestKey> keys_;  // guarded by mu_
  std::string current_kid_ = "key-1";       // guarded by mu_
  RsaTestKey stranger_;
  std::map<std::string, Grant> codes_;      // guarded by mu_
  std::map<std::string, std::string> last_authorization_;  // guarded by mu_
  Forgery forgery_;                         // guarded by mu_
};

}  // namespace keel::testing
