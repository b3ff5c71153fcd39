// The customers read model's tables and how its records are read: a customer's profile (JSON)
// and figures (EncodeCustomerFigures) are kept apart, so that an order rewrites 82 bytes
// instead of the whole document.
#pragma once

#include <string>
#include <string_view>

#include "domain/customer.h"
#include "domain/error.h"

namespace keel {

// id → the profile (CustomerProfileToJson; the whole customer in read models built before).
inline constexpr std::string_view kCustomersTable = "customers";
// id → the customer's figures (baseline and stats).
inline constexpr std::string_view kCustomerFiguresTable = "customer_figures";
// email + "\0" + id → "": who holds each email. Keyed by both, so that a rebuild that folds the
// partitions in any order never loses a holder: each customer adds and drops only its own entry.
// A lookup checks the profile (an imported log may give two customers one email).
inline constexpr std::string_view kCustomersByEmailTable = "customers_by_email";
// createdAt (20 digits of milliseconds) + "/" + id → "": the customers in creation order.
inline constexpr std::string_view kCustomersByCreatedTable = "customers_by_created";
// Registered customers, one counter per partition under this prefix (kProjectionMetaTable).
inline constexpr std::string_view kCustomerCountPrefix = "customers/count/";

std::string CustomerCreatedKey(const Customer& customer);
std::string CustomerEmailKey(std::string_view email, std::string_view id);

// The figures (baseline and stats) in a fixed binary layout of 82 bytes.
std::string EncodeCustomerFigures(const Customer& customer);
// Sets the baseline and stats of `customer`; kDataLoss when `record` is not a figures record.
Status DecodeCustomerFigures(std::string_view record, Customer& customer);

// Sets the stored figures of customer `id` on `c`, and says whether there were any; none
// stored leaves those read from the profile (a record of an older read model holds them).
// `Store`: a ReadStore or a StateView.
template <typename Store>
Result<bool> ReadCustomerFigures(Store& store, std::string_view id, Customer& c) {
  auto figures = store.Get(kCustomerFiguresTable, id);
  if (!figures) return Fail(figures.error());
  if (!*figures) return false;
  if (auto st = DecodeCustomerFigures(**figures, c); !st) return Fail(st.error());
  return true;
}

}  // namespace keel
