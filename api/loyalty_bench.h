// keel bench-loyalty: a full re-score of the loyalty levels (issue 16) over synthetic customers
// held in the RfmColumns view, in one process: every customer's three scores and level and the
// count per level, after a settings change (fixed ladders; quintiles with the cut points cached)
// and after a change of the data (quintiles computed again: three sorts of the base).
#pragma once

#include <cstdint>

#include "domain/error.h"

namespace keel {

struct LoyaltyBenchOptions {
  int64_t customers = 1000000;
  int rounds = 5;  // re-scores timed per scenario
  uint64_t seed = 16;
};

// Prints one line per figure ("name value unit"); the bench script reads them.
Status RunLoyaltyBench(const LoyaltyBenchOptions& options);

}  // namespace keel
