#include "projections/registry.h"

#include "projections/customer_history/history_projector.h"
#include "projections/customers/customers_projector.h"
#include "projections/orders/orders_projector.h"

namespace keel {
namespace {

template <typename P>
std::unique_ptr<Projector> Make(bool) {
  return std::make_unique<P>();
}

std::unique_ptr<Projector> MakeCustomers(bool serving) {
  return std::make_unique<CustomersProjector>(serving);
}

// Orders first: an order event the order's own fold refuses is dead-lettered before its
// customer's figures are touched.
constexpr ReadModelRegistration kReadModels[] = {
    {"orders", &Make<OrdersProjector>},
    {"customers", &MakeCustomers},
    {"customer_history", &Make<CustomerHistoryProjector>},
};

}  // namespace

std::span<const ReadModelRegistration> RegisteredReadModels() { return kReadModels; }

}  // namespace keel
