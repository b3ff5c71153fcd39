#include "api/demo_data.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <vector>

#include "domain/json.h"

namespace keel {
namespace {

constexpr const char* kFirst[] = {"Ada",   "Alan",   "Barbara", "Carlos", "Chen",   "Dana",
                                  "Elena", "Farah",  "Grace",   "Hiro",   "Ines",   "Jamal",
                                  "Karin", "Leila",  "Marco",   "Nadia",  "Omar",   "Priya",
                                  "Rosa",  "Sven",   "Tariq",   "Uma",    "Victor", "Wen",
                                  "Yusuf", "Zoe",    "Amara",   "Bruno",  "Chloe",  "Dmitri"};
constexpr const char* kLast[] = {"Lovelace", "Turing", "Liskov", "Garcia", "Wei",    "Scott",
                                 "Petrova",  "Khan",   "Hopper", "Tanaka", "Silva",  "Brown",
                                 "Larsen",   "Haddad", "Rossi",  "Novak",  "Aziz",   "Patel",
                                 "Dubois",   "Costa",  "Berg",   "Malik",  "Rao",    "Ortiz",
                                 "Zhang",    "Lopez",  "Demir",  "Meyer",  "Okafor", "Kowalski"};
constexpr const char* kProducts[][2] = {
    {"TEA-01", "Green tea"},   {"MUG-02", "Stoneware mug"}, {"BAG-03", "Canvas tote"},
    {"NB-04", "Notebook"},     {"PEN-05", "Fountain pen"},  {"LAMP-06", "Desk lamp"},
    {"SOCK-07", "Wool socks"}, {"CAP-08", "Baseball cap"},  {"BOT-09", "Water bottle"},
    {"KIT-10", "Starter kit"}};

template <size_t N>
const char* Pick(const char* const (&list)[N], std::mt19937_64& rng) {
  return list[rng() % N];
}

struct File {
  explicit File(const std::string& path) : f(std::fopen(path.c_str(), "w")) {}
  ~File() {
    if (f) std::fclose(f);
  }
  std::FILE* f;
};

}  // namespace

Status WriteDemoData(const DemoDataOptions& o) {
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec) return Fail(Error::Unavailable("Cannot create " + o.out_dir + ": " + ec.message()));
  File customers(o.out_dir + "/customers.ndjson");
  File orders(o.out_dir + "/orders.ndjson");
  File expected(o.out_dir + "/expected.tsv");
  if (!customers.f || !orders.f || !expected.f) {
    return Fail(Error::Unavailable("Cannot write into " + o.out_dir));
  }
  std::mt19937_64 rng(o.seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const Millis two_years = 730LL * 86'400'000;

  std::vector<std::string> emails;
  std::vector<bool> active;
  emails.reserve(static_cast<size_t>(o.customers));
  std::string line;
  for (int64_t i = 0; i < o.customers; ++i) {
    const std::string first = Pick(kFirst, rng), last = Pick(kLast, rng);
    std::string email = first + "." + last + "." + std::to_string(i) + "@demo.example";
    for (auto& ch : email) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const bool is_active = rng() % 20 != 0;
    JsonWriter w;
    w.BeginObject();
    w.Key("name").String(first + " " + last);
    w.Key("email").String(email);
    char phone[32];
    std::snprintf(phone, sizeof phone, "+1 (555) %03d-%04d", static_cast<int>(rng() % 1000),
                  static_cast<int>(rng() % 10000));
    w.Key("phone").String(phone);
    if (rng() % 3 == 0) {  // an imported history
      const double r = unit(rng);
      const int64_t cents = r < 0.6 ? static_cast<int64_t>(rng() % 20000)
                          : r < 0.9 ? 20000 + static_cast<int64_t>(rng() % 180000)
                                    : 200000 + static_cast<int64_t>(rng() % 4800000);
      w.Key("totalSpending").Cents(cents);
      w.Key("visits").Int(1 + cents / 4000 + static_cast<int64_t>(rng() % 5));
      w.Key("lastVisit").String(FormatIso8601(o.now - static_cast<Millis>(unit(rng) * two_years)));
    }
    if (!is_active) w.Key("isActive").Bool(false);
    w.EndObject();
    line = w.Take();
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), customers.f);
    emails.push_back(std::move(email));
    active.push_back(is_active);
  }

  std::vector<int64_t> order_count(emails.size(), 0), order_cents(emails.size(), 0);
  std::lognormal_distribution<double> amount(std::log(40.0), 0.9);
  for (int64_t i = 0; i < o.orders && !emails.empty(); ++i) {
    // Skewed: u^3 puts most orders on the first customers of a shuffled-enough order.
    size_t c = static_cast<size_t>(std::pow(unit(rng), 3.0) * static_cast<double>(emails.size()));
    c = (c * 2654435761u) % emails.size();
    while (!active[c]) c = (c + 1) % emails.size();
    JsonWriter w;
    w.BeginObject();
    w.Key("orderId").String("DEMO-" + std::to_string(o.seed) + "-" + std::to_string(i));
    w.Key("customerEmail").String(emails[c]);
    w.Key("orderDate").String(FormatIso8601(o.now - static_cast<Millis>(unit(rng) * two_years)));
    int64_t cents = 0;
    if (rng() % 2 == 0) {
      const int items = 1 + static_cast<int>(rng() % 3);
      w.Key("items").BeginArray();
      for (int k = 0; k < items; ++k) {
        const auto& product = kProducts[rng() % std::size(kProducts)];
        const int64_t qty = 1 + static_cast<int64_t>(rng() % 3);
        const int64_t price = 100 + static_cast<int64_t>(amount(rng) * 50);
        cents += qty * price;
        w.BeginObject();
        w.Key("sku").String(product[0]).Key("name").String(product[1]);
        w.Key("qty").Int(qty).Key("price").Cents(price);
        w.EndObject();
      }
      w.EndArray();
    } else {
      cents = std::max<int64_t>(100, static_cast<int64_t>(amount(rng) * 100));
      w.Key("orderAmount").Cents(cents);
    }
    const double s = unit(rng);
    const char* status = s < 0.85 ? "Delivered" : s < 0.90 ? "Shipped" : s < 0.95 ? "Pending" : "Cancelled";
    w.Key("status").String(status);
    w.EndObject();
    line = w.Take();
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), orders.f);
    if (std::string_view(status) != "Cancelled") {
      ++order_count[c];
      order_cents[c] += cents;
    }
  }
  for (size_t c = 0; c < emails.size(); ++c) {
    std::fprintf(expected.f, "%s\t%d\t%lld\t%lld\n", emails[c].c_str(), active[c] ? 1 : 0,
                 static_cast<long long>(order_count[c]), static_cast<long long>(order_cents[c]));
  }
  if (std::ferror(customers.f) || std::ferror(orders.f) || std::ferror(expected.f)) {
    return Fail(Error::Unavailable("Writing the demo data into " + o.out_dir + " failed"));
  }
  return {};
}

}  // namespace keel
