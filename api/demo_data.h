// Realistic demo data for `keel demo-data`: customers and orders as NDJSON, ready for the
// bulk ingestion endpoints. Deterministic for a seed.
//
// - Customers: first and last names, unique emails, phones; a third carry an imported
//   baseline (spending with a long tail, visits, a last visit); one in twenty is inactive.
// - Orders: placed by active customers picked with a skew (a few customers place many
//   orders), amounts log-normal (median about 40, long tail), half with items that add up
//   to the amount, dates over the two years before `now`, statuses mostly Delivered. Each
//   names its customer by email and carries an external orderId, so re-sending is harmless.
// - expected.tsv: per customer: email, active (1/0), and the order count and order cents
//   (cancelled excluded) that the ingested orders must produce, for checking the stats.
#pragma once

#include <cstdint>
#include <string>

#include "domain/error.h"
#include "domain/time.h"

namespace keel {

struct DemoDataOptions {
  std::string out_dir;
  int64_t customers = 200;
  int64_t orders = 1000;
  uint64_t seed = 1;
  Millis now = 0;
};

// Writes customers.ndjson, orders.ndjson and expected.tsv into out_dir (created).
Status WriteDemoData(const DemoDataOptions& options);

}  // namespace keel
