// Property, end to end: random commands full of edge values (dates near years 1 and 9999 with
// offsets, amounts at the bounds and with odd decimals, unicode text) through the HTTP API.
// Every command answered 2xx is folded by the projector without a dead letter and reads back
// as sent; every 4xx appends nothing; nothing is answered 5xx. The expected answer of each
// command is worked out here, independently of Keel's parsers (dates with <chrono>).
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "domain/customer.h"
#include "domain/order.h"
#include "domain/time.h"
#include "projections/projector_runner.h"
#include "tests/test_app.h"

namespace keel {
namespace {

using Rng = std::mt19937_64;

size_t Pick(Rng& rng, size_t n) { return static_cast<size_t>(rng() % n); }
bool OneIn(Rng& rng, size_t n) { return Pick(rng, n) == 0; }

// A date as sent, and the UTC instant it names when it is well formed and in years 1..9999.
struct DateInput {
  std::string text;
  std::optional<Millis> instant;
};

DateInput RandomDate(Rng& rng) {
  using namespace std::chrono;
  static const char* kMalformed[] = {
      "",
      "yesterday",
      "2026-02-29T00:00:00Z",
      "2026-01-01",
      "2026-01-01T00:00:00",
      "10000-01-01T00:00:00Z",
      "-0001-01-01T00:00:00Z",
      "2026-13-01T00:00:00Z",
      "2026-01-01T24:00:00Z",
      "2026-01-01T00:00:00+24:00",
      "2026-01-01T00:00:00.Z",
      "\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x96-01-01T00:00:00Z",  // full-width digits
  };
  if (OneIn(rng, 12)) return {kMalformed[Pick(rng, std::size(kMalformed))], std::nullopt};
  static const int kYears[] = {0, 1, 1, 2, 1969, 1970, 2000, 2024, 2026, 9998, 9999, 9999};
  const int y =
      OneIn(rng, 4) ? 1 + static_cast<int>(Pick(rng, 9999)) : kYears[Pick(rng, std::size(kYears))];
  const unsigned mo =
      OneIn(rng, 2) ? (OneIn(rng, 2) ? 1u : 12u) : 1 + static_cast<unsigned>(Pick(rng, 12));
  const unsigned last =
      static_cast<unsigned>((year_month_day_last{year{y}, month_day_last{month{mo}}}).day());
  const unsigned d =
      OneIn(rng, 2) ? (OneIn(rng, 2) ? 1u : last) : 1 + static_cast<unsigned>(Pick(rng, last));
  auto edge = [&](int max) {
    return OneIn(rng, 2) ? (OneIn(rng, 2) ? 0 : max) : static_cast<int>(Pick(rng, max + 1));
  };
  const int h = edge(23), mi = edge(59);
  const bool with_seconds = !OneIn(rng, 6);
  const int s = !with_seconds ? 0 : OneIn(rng, 20) ? 60 : edge(59);
  const int digits = with_seconds ? static_cast<int>(Pick(rng, 10)) : 0;
  std::string fraction;
  for (int i = 0; i < digits; ++i) fraction.push_back(static_cast<char>('0' + Pick(rng, 10)));
  int ms = 0;
  for (int i = 0; i < 3; ++i) ms = ms * 10 + (i < digits ? fraction[i] - '0' : 0);
  static const std::pair<const char*, int> kZones[] = {
      {"Z", 0},         {"z", 0},          {"+00:00", 0},   {"+00:01", 1},    {"-00:01", -1},
      {"+23:59", 1439}, {"-23:59", -1439}, {"+05:30", 330}, {"-12:00", -720}, {"+14:00", 840}};
  const auto [zone, offset] = kZones[Pick(rng, std::size(kZones))];
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u%c%02d:%02d", y, mo, d,
                OneIn(rng, 10) ? ' ' : 'T', h, mi);
  std::string out = text;
  if (with_seconds) {
    std::snprintf(text, sizeof text, ":%02d", s);
    out += text;
    if (digits > 0) out += "." + fraction;
  }
  out += zone;
  const sys_days day = year{y} / month{mo} / std::chrono::day{d};
  const milliseconds at = day.time_since_epoch() + hours{h} + minutes{mi} +
                          seconds{s == 60 ? 59 : s} + milliseconds{ms} - minutes{offset};
  const milliseconds first = sys_days{year{1} / 1 / 1}.time_since_epoch();
  const milliseconds past_last = sys_days{year{10000} / 1 / 1}.time_since_epoch();
  if (at < first || at >= past_last) return {out, std::nullopt};
  return {out, at.count()};
}

// An amount as sent, and its value in cents when it is a whole number of them.
struct AmountInput {
  std::string text;
  std::optional<int64_t> cents;
};

AmountInput RandomAmount(Rng& rng) {
  static const AmountInput kFixed[] = {
      {"0", 0},
      {"0.00", 0},
      {"0.01", 1},
      {"1", 100},
      {"12345.67", 1234567},
      {"12345.670", 1234567},
      {"100.10", 10010},
      {"1e2", 10000},
      {"12345678e-2", 12345678},
      {"1.5e-1", 15},
      {"999999999999.99", 99999999999999},
      {"1000000000000", 100000000000000},
      {"1000000000000.00", 100000000000000},
      {"1e12", 100000000000000},
      {"1000000000000.01", 100000000000001},
      {"-0.01", -1},
      {"-5", -500},
      {"12345.678", std::nullopt},
      {"0.001", std::nullopt},
      {"0.005", std::nullopt},
      {"1.005", std::nullopt},
      {"1e-3", std::nullopt},
      {"0.125", std::nullopt},
      {"999999999999.999", std::nullopt},
      {"123456789.123", std::nullopt},
      {"9223372036854775807", std::nullopt},
      {"18446744073709551615", std::nullopt},
  };
  const size_t kind = Pick(rng, 5);
  if (kind == 0) return kFixed[Pick(rng, std::size(kFixed))];
  int64_t units = static_cast<int64_t>(rng() % 1'000'000'000'000ULL);
  for (size_t shrink = Pick(rng, 12); shrink > 0; --shrink) units /= 10;
  const int cents = static_cast<int>(Pick(rng, 100));
  char text[64];
  switch (kind) {
    case 1:  // two decimals
      std::snprintf(text, sizeof text, "%lld.%02d", static_cast<long long>(units), cents);
      return {text, units * 100 + cents};
    case 2:  // a third decimal that is not zero
      std::snprintf(text, sizeof text, "%lld.%02d%d", static_cast<long long>(units), cents,
                    1 + static_cast<int>(Pick(rng, 9)));
      return {text, std::nullopt};
    case 3:  // a trailing zero
      std::snprintf(text, sizeof text, "%lld.%02d0", static_cast<long long>(units), cents);
      return {text, units * 100 + cents};
    default:  // whole units
      std::snprintf(text, sizeof text, "%lld", static_cast<long long>(units));
      return {text, units * 100};
  }
}

bool IsOrderAmount(const AmountInput& a) {
  return a.cents && *a.cents > 0 && *a.cents <= kMaxCents;
}
bool IsBaselineAmount(const AmountInput& a) {
  return a.cents && *a.cents >= 0 && *a.cents <= kMaxCents;
}

// Text of one to six atoms of one or two code points (never a space at either end), as JSON
// string content.
std::string RandomText(Rng& rng) {
  static const char* kAtoms[] = {
      "a",
      "Z",
      "7",
      "\xc3\xa9",          // é
      "\xc3\x9f",          // ß
      "\xce\xa9",          // Ω
      "\xe4\xb8\xad",      // 中
      "\xf0\x9f\x98\x80",  // 😀, four bytes
      "\xe2\x80\x8d",      // zero-width joiner
      "n\xcc\x83",         // n and a combining tilde: two code points
      "\xd7\xa2",          // ע, right to left
      "\\u00e9",           // é, escaped
      "\\ud83d\\ude00",    // 😀 as an escaped surrogate pair
      "\\u0000",           // NUL
      "\\\"",              // a quote
      "\\\\",              // a backslash
  };
  std::string out;
  const size_t n = 1 + Pick(rng, 6);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && OneIn(rng, 4)) out += " ";
    out += kAtoms[Pick(rng, std::size(kAtoms))];
  }
  return out;
}

struct CustomerModel {
  std::string id;
  std::string email;
  bool active = true;
  int64_t baseline_cents = 0;
  std::optional<Millis> baseline_last_visit;
};

struct OrderModel {
  std::string id;
  std::string customer_id;
  int64_t cents = 0;
  Millis date = 0;
  std::string status;
};

class InputPropertyTest : public ::testing::Test {
 protected:
  // Sends a command and checks what every command must satisfy: never a 5xx, a 4xx appends
  // nothing, and the status is the expected one when the test knows it (0: any 2xx or 4xx).
  HttpResult Command(const std::string& method, const std::string& path, const std::string& body,
                     int expected, const std::string& field = "") {
    const int64_t before = LogSize(app_.app());
    auto r = client_.Send(method, path, body);
    const std::string context = method + " " + path + " " + body + " -> " +
                                std::to_string(r.status) + " " + r.body + r.curl_error;
    EXPECT_GT(r.status, 0) << context;
    EXPECT_LT(r.status, 500) << context;
    if (expected != 0) {
      EXPECT_EQ(r.status, expected) << context;
    }
    if (r.status >= 400) {
      EXPECT_EQ(LogSize(app_.app()), before) << "a refused command appended: " << context;
      if (!field.empty() && r.status == 400) {
        Json answer(r.body);
        EXPECT_EQ(answer.Str("/message"), "Validation failed") << context;
        bool named = false;
        for (size_t i = 0; i < answer.Size("/errors"); ++i) {
          named = named || answer.Str("/errors/" + std::to_string(i) + "/field") == field;
        }
        EXPECT_TRUE(named) << "no error for " << field << ": " << context;
      }
    }
    return r;
  }

  CustomerModel* RandomCustomer(Rng& rng) {
    if (customers_.empty()) return nullptr;
    return &customers_[Pick(rng, customers_.size())];
  }

  void RegisterCustomer(Rng& rng) {
    const std::string name = RandomText(rng);
    static const char* kDomains[] = {"x.io",
                                     "b\xc3\xbc"
                                     "cher.de",
                                     "\xe4\xbe\x8b.jp"};
    std::string email = "p" + std::to_string(next_email_++) + (OneIn(rng, 3) ? "\xc3\xbc" : "") +
                        "@" + kDomains[Pick(rng, std::size(kDomains))];
    bool fresh = true, email_ok = true;
    if (!customers_.empty() && OneIn(rng, 8)) {
      email = RandomCustomer(rng)->email;
      fresh = false;
    } else if (OneIn(rng, 12)) {
      email = OneIn(rng, 2) ? "no-at-sign" : "a@b";
      email_ok = false;
    }
    std::string body = R"({"name":")" + name + R"(","email":")" + email + "\"";
    int expected = fresh ? 201 : 409;
    std::string field = email_ok ? "" : "email";
    if (!email_ok) expected = 400;
    CustomerModel model{.email = email};
    if (OneIn(rng, 2)) {
      const AmountInput a = RandomAmount(rng);
      body += R"(,"totalSpending":)" + a.text;
      if (IsBaselineAmount(a)) {
        model.baseline_cents = *a.cents;
      } else {
        expected = 400;
        field = "totalSpending";
      }
    }
    if (OneIn(rng, 2)) {
      const DateInput d = RandomDate(rng);
      body += R"(,"lastVisit":")" + d.text + "\"";
      if (d.instant) {
        model.baseline_last_visit = d.instant;
      } else {
        expected = 400;
        field = "lastVisit";
      }
    }
    body += "}";
    auto r = Command("POST", "/api/v1/customers", body, expected, field);
    if (r.status == 201) {
      model.id = Json(r.body).Str("/data/id");
      customers_.push_back(model);
    }
  }

  void UpdateCustomer(Rng& rng) {
    CustomerModel* c = RandomCustomer(rng);
    if (!c) return;
    std::string body;
    int expected = 200;
    std::string field;
    CustomerModel next = *c;
    if (OneIn(rng, 2)) {
      const AmountInput a = RandomAmount(rng);
      body += R"("totalSpending":)" + a.text;
      if (IsBaselineAmount(a)) {
        next.baseline_cents = *a.cents;
      } else {
        expected = 400;
        field = "totalSpending";
      }
    }
    if (body.empty() || OneIn(rng, 2)) {
      if (!body.empty()) body += ",";
      if (OneIn(rng, 8)) {
        body += R"("lastVisit":null)";
        next.baseline_last_visit.reset();
      } else {
        const DateInput d = RandomDate(rng);
        body += R"("lastVisit":")" + d.text + "\"";
        if (d.instant) {
          next.baseline_last_visit = d.instant;
        } else {
          expected = 400;
          field = "lastVisit";
        }
      }
    }
    if (OneIn(rng, 3)) body += R"(,"name":")" + RandomText(rng) + "\"";
    auto r = Command("PATCH", "/api/v1/customers/" + c->id, "{" + body + "}", expected, field);
    if (r.status == 200) *c = next;
  }

  void PlaceOrder(Rng& rng) {
    CustomerModel* c = RandomCustomer(rng);
    std::string body;
    // What the body's validation names, and what the decision names once the body is valid.
    std::string parse_field, decide_field;
    if (!c || OneIn(rng, 15)) {
      body = R"("customerId":"no-such-customer")";
      decide_field = "customerId";
      c = nullptr;
    } else if (OneIn(rng, 4)) {
      body = R"("customerEmail":")" + c->email + "\"";
      if (!c->active) decide_field = "customerEmail";
    } else {
      body = R"("customerId":")" + c->id + "\"";
      if (!c->active) decide_field = "customerId";
    }
    OrderModel model{.customer_id = c ? c->id : ""};
    if (OneIn(rng, 6)) {
      // Items and no amount: the amount is their sum.
      const size_t n = 1 + Pick(rng, 3);
      std::string items;
      bool prices_ok = true;
      int64_t total = 0;
      for (size_t i = 0; i < n; ++i) {
        const AmountInput price = RandomAmount(rng);
        const int64_t qty = 1 + static_cast<int64_t>(Pick(rng, 3));
        if (!items.empty()) items += ",";
        items += R"({"sku":")" + RandomText(rng) + R"(","name":")" + RandomText(rng) +
                 R"(","qty":)" + std::to_string(qty) + R"(,"price":)" + price.text + "}";
        if (!IsBaselineAmount(price)) {
          prices_ok = false;
          parse_field = "items[" + std::to_string(i) + "].price";
        } else {
          total += qty * *price.cents;
        }
      }
      body += R"(,"items":[)" + items + "]";
      if (prices_ok && (total == 0 || total > kMaxCents)) parse_field = "items";
      model.cents = total;
    } else {
      const AmountInput a = RandomAmount(rng);
      body += R"(,"orderAmount":)" + a.text;
      if (IsOrderAmount(a)) {
        model.cents = *a.cents;
      } else {
        parse_field = "orderAmount";
      }
    }
    bool dated = false;
    if (!OneIn(rng, 10)) {
      const DateInput d = RandomDate(rng);
      body += R"(,"orderDate":")" + d.text + "\"";
      if (d.instant && *d.instant > SystemClock().NowMillis() + kMaxOrderDateAhead) {
        // Parses, but lies more than a day ahead: the decision refuses it (after the customer).
        if (decide_field.empty()) decide_field = "orderDate";
      } else if (d.instant) {
        model.date = *d.instant;
        dated = true;
      } else {
        parse_field = "orderDate";
      }
    }
    static const char* kStatuses[] = {"Pending", "Shipped", "Delivered", "Cancelled"};
    model.status = kStatuses[Pick(rng, 4)];
    body += R"(,"status":")" + model.status + "\"";
    if (OneIn(rng, 5)) body += R"(,"orderId":")" + RandomText(rng) + std::to_string(rng()) + "\"";
    const std::string field = parse_field.empty() ? decide_field : parse_field;
    auto r = Command("POST", "/api/v1/orders", "{" + body + "}", field.empty() ? 201 : 400, field);
    if (r.status == 201) {
      Json answer(r.body);
      model.id = answer.Str("/data/id");
      if (!dated) model.date = *ParseIso8601(answer.Str("/data/orderDate"));
      orders_.push_back(model);
    }
  }

  void ChangeStatus(Rng& rng) {
    if (orders_.empty()) return;
    OrderModel& o = orders_[Pick(rng, orders_.size())];
    static const char* kStatuses[] = {"Pending", "Shipped", "Delivered", "Cancelled", "Lost"};
    const std::string to = kStatuses[Pick(rng, std::size(kStatuses))];
    auto r = Command("PATCH", "/api/v1/orders/" + o.id + "/status", R"({"status":")" + to + "\"}",
                     to == "Lost" ? 400 : 0, to == "Lost" ? "status" : "");
    if (r.status == 200) o.status = to;
  }

  void RecordVisit(Rng& rng) {
    CustomerModel* c = RandomCustomer(rng);
    if (!c) return;
    const DateInput d = RandomDate(rng);
    Command("POST", "/api/v1/customers/" + c->id + "/visits", R"({"visitedAt":")" + d.text + "\"}",
            d.instant ? 200 : 400, d.instant ? "" : "visitedAt");
  }

  void Deactivate(Rng& rng) {
    CustomerModel* c = RandomCustomer(rng);
    if (!c) return;
    auto r = Command("DELETE", "/api/v1/customers/" + c->id, "", 0);
    if (r.status < 300) c->active = false;
  }

  TestApp app_;
  HttpClient client_{app_.base(), app_.token()};
  std::vector<CustomerModel> customers_;
  std::vector<OrderModel> orders_;
  int next_email_ = 0;
};

TEST_F(InputPropertyTest, AcceptedCommandsAreFoldedAndReadBackRefusedOnesChangeNothing) {
  Rng rng(20260517);
  for (int step = 0; step < 1500; ++step) {
    const size_t kind = Pick(rng, 100);
    if (kind < 14 || customers_.size() < 4) {
      RegisterCustomer(rng);
    } else if (kind < 26) {
      UpdateCustomer(rng);
    } else if (kind < 72) {
      PlaceOrder(rng);
    } else if (kind < 84) {
      ChangeStatus(rng);
    } else if (kind < 98) {
      RecordVisit(rng);
    } else {
      Deactivate(rng);
    }
    if (HasFatalFailure()) return;
  }
  ASSERT_GT(customers_.size(), 10u);
  ASSERT_GT(orders_.size(), 50u);

  // Every event appended is applied (none dead-lettered, none skipped).
  ProjectorRunner& projection = app_.app().customer_projection();
  const int64_t appended = LogSize(app_.app());
  for (int i = 0;
       i < 2000 &&
       projection.counters().events_applied + projection.counters().dead_lettered < appended;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const ProjectionCounters counters = projection.counters();
  EXPECT_EQ(counters.dead_lettered, 0);
  EXPECT_EQ(counters.skipped_unknown + counters.skipped_newer, 0);
  EXPECT_EQ(counters.events_applied, appended);
  auto dead = client_.Send("GET", "/api/v1/admin/dead-letters");
  ASSERT_EQ(dead.status, 200) << dead.body;
  EXPECT_EQ(Json(dead.body).Int("/meta/total"), 0) << dead.body;
  EXPECT_EQ(Json(dead.body).Size("/data"), 0u) << dead.body;

  // What was accepted reads back as it was sent.
  std::map<std::string, int64_t> orders_of;
  for (const OrderModel& o : orders_) {
    ++orders_of[o.customer_id];
    auto r = client_.Send("GET", "/api/v1/orders/" + o.id);
    ASSERT_EQ(r.status, 200) << o.id << " " << r.body;
    Json order(r.body);
    EXPECT_EQ(std::llround(order.Num("/data/orderAmount") * 100), o.cents) << r.body;
    EXPECT_EQ(ParseIso8601(order.Str("/data/orderDate")), o.date) << r.body;
    EXPECT_EQ(order.Str("/data/status"), o.status) << r.body;
  }
  for (const CustomerModel& c : customers_) {
    auto r = client_.Send("GET", "/api/v1/customers/" + c.id);
    ASSERT_EQ(r.status, 200) << c.id << " " << r.body;
    Json customer(r.body);
    EXPECT_EQ(std::llround(customer.Num("/data/baseline/totalSpending") * 100), c.baseline_cents)
        << r.body;
    const std::string last_visit = customer.Str("/data/baseline/lastVisit");
    EXPECT_EQ(c.baseline_last_visit ? ParseIso8601(last_visit) : std::nullopt,
              c.baseline_last_visit)
        << r.body;
    EXPECT_EQ(customer.Bool("/data/isActive"), c.active) << r.body;
    auto list = client_.Send("GET", "/api/v1/orders?limit=100&customerId=" + c.id);
    ASSERT_EQ(list.status, 200) << list.body;
    EXPECT_EQ(Json(list.body).Int("/meta/total"), orders_of[c.id]) << c.id;
  }
}

}  // namespace
}  // namespace keel
