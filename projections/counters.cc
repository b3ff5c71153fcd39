#include "projections/counters.h"

#include <algorithm>
#include <cstdio>

#include "domain/numbers.h"

namespace keel {

std::string Digits20(int64_t n) {
  char v[24];
  std::snprintf(v, sizeof v, "%020lld", static_cast<long long>(std::max<int64_t>(n, 0)));
  return v;
}

std::string PartitionCounterKey(std::string_view prefix, int32_t partition) {
  char p[16];
  std::snprintf(p, sizeof p, "%05d", partition);
  std::string key(prefix);
  key += p;
  return key;
}

Result<int64_t> SumCounters(ReadStore& store, std::string_view prefix) {
  int64_t n = 0;
  auto st = store.Scan(kProjectionMetaTable, prefix, "", [&](std::string_view, std::string_view v) {
    n += ParseInt64(v).value_or(0);
    return true;
  });
  if (!st) return Fail(st.error());
  return n;
}

Status BumpCounter(StateView& view, const std::string& key, std::vector<StoreWrite>& writes) {
  return AddToCounter(view, key, 1, writes);
}

Status AddToCounter(StateView& view, const std::string& key, int64_t delta,
                    std::vector<StoreWrite>& writes) {
  auto count = view.Get(kProjectionMetaTable, key);
  if (!count) return Fail(count.error());
  writes.push_back({kProjectionMetaTable, key,
                    std::to_string((*count ? ParseInt64(**count).value_or(0) : 0) + delta)});
  return {};
}

}  // namespace keel
