// keel bench-store: what the read store alone costs for a bulk order ingest. It writes what
// the live projection writes for N placed orders (each order's record and two index entries,
// its customer's figures, the existence read before each order), in batches of the live
// projection's size, from one thread per projection worker, into a fresh RocksDB with the read
// model's tables and options. No log, no event decoding, no command side: a floor under the
// end-to-end ingest rate on this machine.
#pragma once

#include <cstdint>
#include <string>

#include "domain/error.h"

namespace keel {

struct StoreBenchOptions {
  std::string dir;  // a fresh directory; removed first if it exists
  int64_t orders = 1000000;
  int64_t customers = 100000;
  int threads = 2;               // as many as the live projection has workers
  int64_t batch_orders = 12000;  // the live projection's batch size
};

struct StoreBenchResult {
  double seconds = 0;      // until the last batch was committed
  double cpu_seconds = 0;  // of the whole process (RocksDB's flushes included) in that time
};

Result<StoreBenchResult> RunStoreBench(const StoreBenchOptions& options);

}  // namespace keel
