// The OpenAPI document and the router cannot drift: every route the server registers is
// documented and every documented operation exists. The document and Swagger UI are served.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "api/access.h"
#include "api/http_server.h"
#include "api/openapi_doc.h"
#include "tests/test_app.h"

namespace keel {
namespace {

// "/api/v1/customers/:id" is "/api/v1/customers/{id}" in OpenAPI.
std::string ToOpenApiPath(const std::string& pattern) {
  std::string out;
  bool in_param = false;
  for (char c : pattern) {
    if (c == ':') {
      out += '{';
      in_param = true;
    } else if (c == '/' && in_param) {
      out += "}/";
      in_param = false;
    } else {
      out += c;
    }
  }
  if (in_param) out += '}';
  return out;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

TEST(OpenApiTest, EveryRouteIsDocumentedAndEveryDocumentedRouteExists) {
  AppConfig config;
  config.auth.dev_mode = true;  // POST /api/v1/auth/dev-token exists only then
  TestApp app(config);
  std::set<std::string> registered;
  std::map<std::string, std::string> rules;  // what x-keel-access must say
  for (const auto& route : app.app().server().routes()) {
    const std::string key = Lower(route.method) + " " + ToOpenApiPath(route.pattern);
    registered.insert(key);
    rules[key] = std::string(AccessRule(route.method, route.pattern).value_or("<none>"));
  }
  Json doc{std::string(OpenApiDocument())};
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc.Str("/openapi"), "3.1.0");
  std::set<std::string> documented;
  simdjson::dom::object paths;
  ASSERT_FALSE(doc.At("/paths")->get(paths));
  for (auto [path, item] : paths) {
    simdjson::dom::object operations;
    ASSERT_FALSE(item.get(operations));
    for (auto [method, operation] : operations) {
      if (method == "parameters") continue;
      const std::string key = std::string(method) + " " + std::string(path);
      documented.insert(key);
      std::string_view access;
      EXPECT_FALSE(operation["x-keel-access"].get(access)) << key << " has no x-keel-access";
      if (rules.contains(key)) {
        EXPECT_EQ(access, rules[key]) << key;
      }
    }
  }
  EXPECT_FALSE(registered.empty());
  for (const auto& r : registered) EXPECT_TRUE(documented.contains(r)) << "undocumented: " << r;
  for (const auto& d : documented) EXPECT_TRUE(registered.contains(d)) << "no such route: " << d;
}

TEST(OpenApiTest, ServesTheDocumentAndSwaggerUiFromLocalFiles) {
  TestApp app;
  HttpClient c(app.base(), app.token());
  auto document = c.Send("GET", "/openapi.json");
  ASSERT_EQ(document.status, 200);
  EXPECT_EQ(document.body, std::string(OpenApiDocument()));

  auto page = c.Send("GET", "/docs");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_NE(page.body.find("SwaggerUIBundle"), std::string::npos);
  EXPECT_NE(page.body.find("/openapi.json"), std::string::npos);
  EXPECT_EQ(page.body.find("http"), std::string::npos) << "assets must not come from elsewhere";

  auto bundle = c.Send("GET", "/docs/swagger-ui-bundle.js");
  ASSERT_EQ(bundle.status, 200);
  EXPECT_GT(bundle.body.size(), 100000u);
  EXPECT_EQ(bundle.headers["content-type"], "application/javascript");
  EXPECT_EQ(c.Send("GET", "/docs/swagger-ui.css").headers["content-type"], "text/css");
  EXPECT_EQ(c.Send("GET", "/docs/nothing.js").status, 404);
  EXPECT_EQ(c.Send("GET", "/docs/..%2Fpackage.json").status, 404);
  EXPECT_EQ(c.Send("GET", "/docs/.npmrc").status, 404);
}

}  // namespace
}  // namespace keel
