#include "projections/customers/customer_view.h"

#include "projections/customers/customer_queries.h"

namespace keel {

Status LoadCustomerViews(ReadStore& store, std::span<CustomerView* const> views) {
  // A hint: a counter that cannot be read leaves the views to grow as they load.
  const Result<int64_t> counted = QueryCustomerCount(store);
  const size_t expected = counted && *counted > 0 ? static_cast<size_t>(*counted) : 0;
  for (CustomerView* view : views) view->StartLoad(expected);
  // The scan reads one snapshot; what commits after it reaches the views through Apply.
  Status st = ForEachCustomer(store, [&](Customer&& c) {
    for (CustomerView* view : views) view->Loaded(c);
    return true;
  });
  for (CustomerView* view : views) view->FinishLoad(st);
  return st;
}

}  // namespace keel
