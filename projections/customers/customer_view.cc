#include "projections/customers/customer_view.h"

#include "projections/customers/customer_queries.h"

namespace keel {

Status LoadCustomerViews(ReadStore& store, std::span<CustomerView* const> views) {
  for (CustomerView* view : views) view->StartLoad();
  // The scan reads one snapshot; what commits after it reaches the views through Apply.
  Status st = ForEachCustomer(store, [&](Customer&& c) {
    for (CustomerView* view : views) view->Loaded(c);
    return true;
  });
  for (CustomerView* view : views) view->FinishLoad(st);
  return st;
}

}  // namespace keel
