// Helpers every read model uses for its keys and its counters. A counter is kept per partition
// ("customers/count/00003") in the projection_meta table, because partitions are folded
// concurrently; a query sums them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "domain/error.h"
#include "infra/read_store.h"
#include "projections/projector.h"

namespace keel {

// n as 20 digits (negative as 0): keys that sort as numbers do.
std::string Digits20(int64_t n);

// `prefix` followed by the partition in 5 digits.
std::string PartitionCounterKey(std::string_view prefix, int32_t partition);

// The sum of the counters under `prefix` (every partition's).
Result<int64_t> SumCounters(ReadStore& store, std::string_view prefix);

// Adds one to the counter `key` as `view` holds it.
Status BumpCounter(StateView& view, const std::string& key, std::vector<StoreWrite>& writes);
// Adds `delta` to the counter `key` as `view` holds it.
Status AddToCounter(StateView& view, const std::string& key, int64_t delta,
                    std::vector<StoreWrite>& writes);

}  // namespace keel
