// keel bench-membership: what live segment membership costs the customers projection, through
// the real runner (embedded log, RocksDB, two workers), in one process:
// - orders folded with no segment, then the same number with `segments` segments defined
//   (the throughput ratio is the cost of evaluating every customer's segments at each event);
// - publishing one segment's rules (every customer of every partition re-evaluated);
// - clock ticks with `time_segments` time-relative segments: a minute later (almost nothing
//   due) and a day later (about a quarter of a percent of memberships flip);
// - automated runs (domain/automation.h): a birthday run (about 1/365 of the customers due) and
//   an inactivity run with every customer due (the first run over an idle base).
#pragma once

#include <cstdint>
#include <string>

#include "domain/error.h"

namespace keel {

struct MembershipBenchOptions {
  std::string dir;  // a fresh directory; removed first if it exists
  int64_t customers = 1000000;
  int64_t orders = 200000;  // per half of the ingest comparison
  int segments = 100;       // defined for the second half
  int time_segments = 20;   // of them, time-relative (lastVisit in_last_days / inactive_days)
};

// Prints its figures as it goes; the last lines are the table the bench script reads.
Status RunMembershipBench(const MembershipBenchOptions& options);

}  // namespace keel
