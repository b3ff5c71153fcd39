// What the project and work log suites share: a real Keel (test_app.h) with two sales reps
// (ann, bob), a manager (max), and one customer of each rep.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/test_app.h"

namespace keel {

// prefix + n + suffix (built with +=: GCC 12 warns falsely on "literal" + std::to_string).
inline std::string Numbered(std::string prefix, int64_t n, std::string_view suffix = "") {
  prefix += std::to_string(n);
  prefix += suffix;
  return prefix;
}

// The field names of a validation envelope's errors, in order.
inline std::vector<std::string> ErrorFields(const std::string& body) {
  Json j(body);
  std::vector<std::string> out;
  for (size_t i = 0; i < j.Size("/errors"); ++i) {
    out.push_back(j.Str(Numbered("/errors/", static_cast<int64_t>(i), "/field")));
  }
  return out;
}

class WorkFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ann_id_ = MakeUser("ann@keel.test", "sales_rep");
    bob_id_ = MakeUser("bob@keel.test", "sales_rep");
    max_id_ = MakeUser("max@keel.test", "manager");
    ann_ = std::make_unique<HttpClient>(app_.base(), Login("ann@keel.test"));
    bob_ = std::make_unique<HttpClient>(app_.base(), Login("bob@keel.test"));
    max_ = std::make_unique<HttpClient>(app_.base(), Login("max@keel.test"));
    ann_customer_ = MakeCustomer(*ann_, "Ann's", "anns@x.io");
    bob_customer_ = MakeCustomer(*bob_, "Bob's", "bobs@x.io");
  }
  std::string MakeUser(const std::string& email, const std::string& role) {
    auto r = admin_.Send("POST", "/api/v1/users",
                         R"({"name":"W","email":")" + email +
                             R"(","password":"password-123","role":")" + role + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Str("/data/id");
  }
  std::string Login(const std::string& email) {
    return LoginToken(app_.base(), email, "password-123");
  }
  // A customer; its position is remembered in `customer_positions_`.
  std::string MakeCustomer(HttpClient& c, const std::string& name, const std::string& email) {
    auto r = c.Send("POST", "/api/v1/customers",
                    R"({"name":")" + name + R"(","email":")" + email + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    customer_positions_.Remember(r.headers["x-keel-position"]);
    return Json(r.body).Str("/data/id");
  }
  std::string MakeProject(HttpClient& c, const std::string& customer,
                          const std::string& name = "Roll-out") {
    auto r = c.Send("POST", "/api/v1/projects",
                    R"({"name":")" + name + R"(","customerId":")" + customer + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Str("/data/id");
  }
  // Waits until `path`'s meta.total reaches `expected`; what it is after five seconds.
  int64_t AwaitTotal(HttpClient& c, const std::string& path, int64_t expected) {
    int64_t total = -1;
    for (int i = 0; i < 250; ++i) {
      total = Json(c.Send("GET", path).body).Int("/meta/total");
      if (total >= expected) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return total;
  }

  TestApp app_;
  HttpClient admin_{app_.base(), app_.token()};
  std::string ann_id_, bob_id_, max_id_;
  std::unique_ptr<HttpClient> ann_, bob_, max_;
  std::string ann_customer_, bob_customer_;
  // Where the customers made through MakeCustomer were appended: a read waiting on them.
  Positions customer_positions_;
};

}  // namespace keel
