#include "api/csrf_guard.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

CsrfGuard::Request FromPage(std::optional<std::string_view> origin,
                            std::string_view route = "/api/v1/customers",
                            std::optional<std::string_view> type = "application/json") {
  return {route, origin, "crm.example.com", type};
}

TEST(CsrfGuardTest, ConfiguredOriginsAreMatchedExactly) {
  auto guard = CsrfGuard::Make("https://CRM.example.com/, http://localhost:5173", "");
  ASSERT_TRUE(guard) << guard.error().message;
  EXPECT_TRUE(guard->Check(FromPage("https://crm.example.com")));
  EXPECT_TRUE(guard->Check(FromPage("https://crm.example.com:443")));
  EXPECT_TRUE(guard->Check(FromPage("http://localhost:5173")));
  for (std::string_view bad :
       {"https://evil.example", "http://crm.example.com", "https://crm.example.com.evil.example",
        "https://crm.example.com:8443", "null", "", "https://crm.example.com/app"}) {
    auto st = guard->Check(FromPage(bad));
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().code, ErrorCode::kPermissionDenied);
  }
  EXPECT_FALSE(guard->Check(FromPage(std::nullopt))) << "Origin must be present";
}

TEST(CsrfGuardTest, OnlyJsonBodiesAndNdjsonForBulkIngestion) {
  auto guard = CsrfGuard::Make("https://crm.example.com", "");
  ASSERT_TRUE(guard);
  const std::string_view origin = "https://crm.example.com";
  EXPECT_TRUE(
      guard->Check(FromPage(origin, "/api/v1/customers", "Application/JSON; charset=utf-8")));
  EXPECT_TRUE(guard->Check(FromPage(origin, "/api/v1/ingest/orders", "application/x-ndjson")));
  EXPECT_TRUE(guard->Check(FromPage(origin, "/api/v1/ingest/orders", "application/json")));
  for (std::optional<std::string_view> type :
       {std::optional<std::string_view>("text/plain"),
        std::optional<std::string_view>("application/x-www-form-urlencoded"),
        std::optional<std::string_view>("multipart/form-data; boundary=x"),
        std::optional<std::string_view>("application/x-ndjson"),
        std::optional<std::string_view>("application/jsonx"), std::optional<std::string_view>()}) {
    auto st = guard->Check(FromPage(origin, "/api/v1/customers", type));
    ASSERT_FALSE(st) << type.value_or("<none>");
    EXPECT_NE(st.error().message.find("Content-Type"), std::string::npos);
  }
}

TEST(CsrfGuardTest, TheDefaultOriginIsTheRedirectUrisOrTheHostHeaders) {
  auto from_redirect = CsrfGuard::Make("", "https://crm.example.com/api/v1/auth/google/callback");
  ASSERT_TRUE(from_redirect);
  ASSERT_EQ(from_redirect->origins().size(), 1u);
  EXPECT_EQ(from_redirect->origins()[0], "https://crm.example.com");
  EXPECT_TRUE(from_redirect->Check(FromPage("https://crm.example.com")));
  EXPECT_FALSE(from_redirect->Check(FromPage("http://crm.example.com")));

  auto from_host = CsrfGuard::Make("", "");
  ASSERT_TRUE(from_host);
  EXPECT_TRUE(from_host->origins().empty());
  EXPECT_TRUE(
      from_host->Check({"/x", "http://127.0.0.1:8080", "127.0.0.1:8080", "application/json"}));
  EXPECT_TRUE(from_host->Check(
      {"/x", "https://crm.example.com", "crm.example.com:443", "application/json"}));
  EXPECT_FALSE(
      from_host->Check({"/x", "http://evil.example", "127.0.0.1:8080", "application/json"}));
  EXPECT_FALSE(
      from_host->Check({"/x", "http://127.0.0.1:8081", "127.0.0.1:8080", "application/json"}));
  EXPECT_FALSE(from_host->Check({"/x", "http://127.0.0.1:8080", std::nullopt, "application/json"}));
}

TEST(CsrfGuardTest, BadOriginsAreRefusedAtStart) {
  for (const char* bad :
       {"crm.example.com", "ftp://crm.example.com", "https://", "https://a/b", "null"}) {
    auto guard = CsrfGuard::Make(bad, "");
    ASSERT_FALSE(guard) << bad;
    EXPECT_NE(guard.error().message.find("KEEL_PUBLIC_ORIGINS"), std::string::npos);
  }
  EXPECT_FALSE(CsrfGuard::Make("", "/relative/callback"));
  EXPECT_TRUE(CsrfGuard::ChangesState("DELETE"));
  EXPECT_FALSE(CsrfGuard::ChangesState("GET"));
}

}  // namespace
}  // namespace keel
