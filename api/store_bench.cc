#include "api/store_bench.h"

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "api/app.h"
#include "domain/customer.h"
#include "domain/ids.h"
#include "domain/order.h"
#include "infra/rocks_store.h"
#include "projections/customers/customer_records.h"
#include "projections/orders/orders_projector.h"

namespace keel {
namespace {

double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Random ids in the shape of the ingest's (external ids derive UUIDs that look random).
std::string RandomId(std::mt19937_64& random) {
  return DeriveUuid("keel.bench-store", std::to_string(random()));
}

}  // namespace

Result<StoreBenchResult> RunStoreBench(const StoreBenchOptions& options) {
  std::error_code ec;
  std::filesystem::remove_all(options.dir, ec);
  auto opened = RocksStore::Open(options.dir, ProjectionSet::Tables(), /*bulk_load=*/false);
  if (!opened) return Fail(opened.error());
  RocksStore& store = **opened;

  const int threads = std::max(1, options.threads);
  const int64_t batch_orders = std::max<int64_t>(1, options.batch_orders);
  // The ids and dates are drawn before the clock starts: only the store's work is timed.
  // Each worker has its own customers, as each projection worker has its own partitions.
  struct Work {
    std::vector<Customer> customers;
    std::vector<std::string> order_ids;
    std::vector<std::pair<uint32_t, Millis>> orders;  // customer, order date
  };
  std::vector<Work> work(static_cast<size_t>(threads));
  const Millis two_years = 2LL * 365 * 24 * 3600 * 1000;
  const Millis start = 1735689600000;  // 2025-01-01
  std::mt19937_64 random(7);
  for (int w = 0; w < threads; ++w) {
    Work& mine = work[static_cast<size_t>(w)];
    mine.customers.resize(static_cast<size_t>(std::max<int64_t>(1, options.customers / threads)));
    for (auto& c : mine.customers) c.id = RandomId(random);
    const int64_t orders = options.orders / threads + (w < options.orders % threads ? 1 : 0);
    for (int64_t n = 0; n < orders; ++n) {
      mine.order_ids.push_back(RandomId(random));
      mine.orders.emplace_back(
          random() % mine.customers.size(),
          start + static_cast<Millis>(random() % static_cast<uint64_t>(two_years)));
    }
  }

  std::atomic<bool> failed{false};
  Error failure;
  std::mutex failure_mu;
  auto fail = [&](const Error& error) {
    std::lock_guard lock(failure_mu);
    failure = error;
    failed = true;
  };
  auto run = [&](int worker) {
    Work& mine = work[static_cast<size_t>(worker)];
    std::vector<StoreWrite> batch;
    auto commit = [&] {
      if (auto st = store.Write(batch); !st) fail(st.error());
      batch.clear();
    };
    for (size_t n = 0; n < mine.orders.size() && !failed; ++n) {
      Customer& customer = mine.customers[mine.orders[n].first];
      Order order;
      order.id = std::move(mine.order_ids[n]);
      order.customer_id = customer.id;
      order.external_id = "BENCH-" + std::to_string(worker) + "-" + std::to_string(n);
      order.order_date = mine.orders[n].second;
      order.created_at = order.updated_at = start + two_years;
      order.status = OrderStatus::kDelivered;
      order.items = {{"MUG-02", "Stoneware mug", 3, 1558}, {"BOT-09", "Water bottle", 2, 2811}};
      order.amount_cents = 3 * 1558 + 2 * 2811;
      order.version = 1;
      if (auto existing = store.Get(kOrdersTable, order.id); !existing) {
        fail(existing.error());
        break;
      }
      AppendOrderWrites(order, {{worker, static_cast<int64_t>(n)}}, batch);
      OrderChange placed;
      placed.placed = true;
      placed.customer_id = customer.id;
      placed.amount_cents = order.amount_cents;
      placed.order_date = order.order_date;
      placed.status = order.status;
      if (auto st = ApplyOrderToStats(customer.stats, placed); !st) {
        fail(st.error());
        break;
      }
      batch.push_back({kCustomerFiguresTable, customer.id, EncodeCustomerFigures(customer)});
      if (static_cast<int64_t>(n + 1) % batch_orders == 0) commit();
    }
    if (!batch.empty() && !failed) commit();
  };
  const double cpu_before = ProcessCpuSeconds();
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < threads; ++w) workers.emplace_back(run, w);
  for (auto& t : workers) t.join();
  StoreBenchResult result;
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.cpu_seconds = ProcessCpuSeconds() - cpu_before;
  if (failed) return Fail(failure);
  return result;
}

}  // namespace keel
