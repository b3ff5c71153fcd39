#include "projections/registry.h"

#include "projections/campaign_audience/campaign_audience_projector.h"
#include "projections/campaigns/campaigns_projector.h"
#include "projections/customer_history/history_projector.h"
#include "projections/customer_promotions/customer_promotions_projector.h"
#include "projections/customers/customers_projector.h"
#include "projections/loyalty/loyalty_projector.h"
#include "projections/membership/membership_projector.h"
#include "projections/orders/orders_projector.h"
#include "projections/products/products_projector.h"
#include "projections/projects/projects_projector.h"
#include "projections/promotions/promotions_projector.h"
#include "projections/segments/segments_projector.h"
#include "projections/tasks/tasks_projector.h"
#include "projections/transactions/transactions_projector.h"
#include "projections/users/sessions_projector.h"
#include "projections/worklogs/worklogs_projector.h"

namespace keel {
namespace {

template <typename P>
std::unique_ptr<Projector> Make(const ProjectorContext&) {
  return std::make_unique<P>();
}

template <typename P>
std::unique_ptr<Projector> MakeServing(const ProjectorContext& context) {
  return std::make_unique<P>(context.serving_store);
}

// Membership folds after the customers projector, from the customers it folded.
std::unique_ptr<Projector> MakeMembership(const ProjectorContext& context) {
  return std::make_unique<MembershipProjector>(*context.Find<CustomersProjector>());
}

// Campaign audiences resolve after membership, from the members it folded.
std::unique_ptr<Projector> MakeCampaignAudience(const ProjectorContext& context) {
  return std::make_unique<CampaignAudienceProjector>(*context.Find<CustomersProjector>());
}

// Orders first: an order event the order's own fold refuses is dead-lettered before its
// customer's figures are touched.
constexpr ReadModelRegistration kReadModels[] = {
    {"orders", &Make<OrdersProjector>},
    {"customers", &MakeServing<CustomersProjector>},
    {"customer_history", &Make<CustomerHistoryProjector>},
    {"sessions", &MakeServing<SessionsProjector>},
    {"segments", &Make<SegmentsProjector>},
    {"segment_membership", &MakeMembership},
    {"campaigns", &Make<CampaignsProjector>},
    {"campaign_audience", &MakeCampaignAudience},
    {"projects", &Make<ProjectsProjector>},
    {"tasks", &Make<TasksProjector>},
    {"worklogs", &Make<WorklogsProjector>},
    {"products", &Make<ProductsProjector>},
    {"promotions", &Make<PromotionsProjector>},
    {"loyalty", &Make<LoyaltyProjector>},
    {"transactions", &Make<TransactionsProjector>},
    {"customer_promotions", &Make<CustomerPromotionsProjector>},
};

}  // namespace

std::span<const ReadModelRegistration> RegisteredReadModels() { return kReadModels; }

}  // namespace keel
