// A small blocking HTTP client for the end-to-end suites (libcurl), and JSON access by
// pointer (simdjson). One HttpClient per thread; it reuses its connection.
#pragma once

#include <curl/curl.h>
#include <simdjson.h>
#include <strings.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace keel {

struct HttpResult {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lowercase names; repeated ones joined by '\n'
  std::string curl_error;                      // set when no answer came
};

class HttpClient {
 public:
  // `bearer`: a session token sent as "Authorization: Bearer" with every request.
  explicit HttpClient(std::string base, std::string bearer = "")
      : base_(std::move(base)), bearer_(std::move(bearer)), curl_(curl_easy_init()) {}
  ~HttpClient() { curl_easy_cleanup(curl_); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends "Content-Type: application/json" unless `headers` name another.
  HttpResult Send(const std::string& method, const std::string& path, const std::string& body = "",
                  const std::vector<std::string>& headers = {}, long timeout_ms = 10000) {
    HttpResult r;
    curl_easy_reset(curl_);
    const std::string url = base_ + path;
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
    curl_slist* list = nullptr;
    if (!NamesContentType(headers))
      list = curl_slist_append(list, "Content-Type: application/json");
    list = curl_slist_append(list, "Expect:");
    if (!bearer_.empty()) list = curl_slist_append(list, ("Authorization: Bearer " + bearer_).c_str());
    for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &r.headers);
    CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(list);
    if (rc != CURLE_OK) {
      r.curl_error = curl_easy_strerror(rc);
      return r;
    }
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &r.status);
    return r;
  }

 private:
  static bool NamesContentType(const std::vector<std::string>& headers) {
    for (const auto& h : headers) {
      if (strncasecmp(h.c_str(), "Content-Type:", 13) == 0) return true;
    }
    return false;
  }
  static size_t OnBody(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
  }
  static size_t OnHeader(char* data, size_t size, size_t n, void* out) {
    std::string line(data, size * n);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
      auto& headers = *static_cast<std::map<std::string, std::string>*>(out);
      auto [it, added] = headers.emplace(name, value);
      if (!added) it->second += "\n" + value;
    }
    return size * n;
  }

  std::string base_;
  std::string bearer_;
  CURL* curl_;
};

// A parsed JSON document; values are read by JSON pointer ("/data/id").
class Json {
 public:
  explicit Json(const std::string& text) : padded_(text) {
    ok_ = parser_.parse(padded_).get(root_) == simdjson::SUCCESS;
  }
  // The root element points into this object's parser: it cannot be copied or moved.
  Json(const Json&) = delete;
  Json& operator=(const Json&) = delete;
  bool ok() const { return ok_; }
  simdjson::dom::element root() const { return root_; }
  std::optional<simdjson::dom::element> At(const std::string& pointer) const {
    simdjson::dom::element e;
    if (!ok_ || root_.at_pointer(pointer).get(e)) return std::nullopt;
    return e;
  }
  std::string Str(const std::string& pointer) const {
    auto e = At(pointer);
    std::string_view s;
    if (!e || e->get(s)) return "<missing " + pointer + ">";
    return std::string(s);
  }
  int64_t Int(const std::string& pointer) const {
    auto e = At(pointer);
    int64_t v;
    if (!e || e->get(v)) return INT64_MIN;
    return v;
  }
  double Num(const std::string& pointer) const {
    auto e = At(pointer);
    double v;
    if (!e || e->get(v)) return -1e300;
    return v;
  }
  bool Bool(const std::string& pointer) const {
    auto e = At(pointer);
    bool v = false;
    if (e && e->get(v)) v = false;
    return v;
  }
  size_t Size(const std::string& pointer) const {
    auto e = At(pointer);
    simdjson::dom::array a;
    if (!e || e->get(a)) return 0;
    return a.size();
  }

 private:
  simdjson::padded_string padded_;
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
  bool ok_ = false;
};

}  // namespace keel
