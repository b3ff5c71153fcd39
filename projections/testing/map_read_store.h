// For the read models' unit tests: a ReadStore over an ordered map, whose scans read a snapshot
// and can run a hook midway (to commit while a view loads) or fail.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "infra/read_store.h"
#include "projections/customers/customer_records.h"

namespace keel::testing {

class MapReadStore final : public ReadStore {
 public:
  Status Write(const std::vector<StoreWrite>& batch) override {
    std::lock_guard lock(mu_);
    for (const StoreWrite& w : batch) {
      if (w.value) {
        rows_[{std::string(w.table), w.key}] = *w.value;
      } else {
        rows_.erase({std::string(w.table), w.key});
      }
    }
    return {};
  }

  Result<std::optional<std::string>> Get(std::string_view table, std::string_view key) override {
    std::lock_guard lock(mu_);
    auto it = rows_.find({std::string(table), std::string(key)});
    if (it == rows_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  Status Scan(std::string_view table, std::string_view prefix, std::string_view start,
              const std::function<bool(std::string_view, std::string_view)>& visit) override {
    const auto snapshot = Snapshot(table, prefix, start);
    for (size_t i = 0; i < snapshot.size(); ++i) {
      if (i == snapshot.size() / 2 && during_scan) during_scan();
      if (i == snapshot.size() / 2 && fail_scans) return Fail(Error::Internal("Scan failed"));
      if (!visit(snapshot[i].first, snapshot[i].second)) break;
    }
    return {};
  }

  Status ScanReverse(
      std::string_view table, std::string_view prefix, std::string_view last,
      const std::function<bool(std::string_view, std::string_view)>& visit) override {
    const auto snapshot = Snapshot(table, prefix, "");
    for (auto it = snapshot.rbegin(); it != snapshot.rend(); ++it) {
      if (!last.empty() && it->first > last) continue;
      if (!visit(it->first, it->second)) break;
    }
    return {};
  }

  Status Flush() override { return {}; }

  // A customer as the customers projector stores it: the profile and the figures.
  void PutCustomer(const Customer& c) {
    Write({{kCustomersTable, c.id, CustomerProfileToJson(c)},
           {kCustomerFiguresTable, c.id, EncodeCustomerFigures(c)}});
  }

  // Run once per scan, halfway through (after the snapshot is read).
  std::function<void()> during_scan;
  // Scans fail halfway through.
  bool fail_scans = false;

 private:
  std::vector<std::pair<std::string, std::string>> Snapshot(std::string_view table,
                                                            std::string_view prefix,
                                                            std::string_view start) {
    std::lock_guard lock(mu_);
    std::vector<std::pair<std::string, std::string>> out;
    const std::string first = std::max(std::string(prefix), std::string(start));
    for (auto it = rows_.lower_bound({std::string(table), first});
         it != rows_.end() && it->first.first == table && it->first.second.starts_with(prefix);
         ++it) {
      out.emplace_back(it->first.second, it->second);
    }
    return out;
  }

  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::string> rows_;
};

}  // namespace keel::testing
