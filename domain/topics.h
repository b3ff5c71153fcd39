// The streams of events, by topic name: the write side appends to them, projections read them.
// One place, so that neither side names a topic that the other defines.
#pragma once

#include <string_view>

namespace keel {

// Customers and their orders: one stream keyed by customer id, so that a customer's events and
// its orders' events share a partition and are folded in order.
inline constexpr std::string_view kCustomersTopic = "keel.customers";
// Users, sessions, roles and permissions; role definitions are keyed by kAccessKey (user.h).
inline constexpr std::string_view kUsersTopic = "keel.users";
// Segment definitions, keyed by segment id.
inline constexpr std::string_view kSegmentsTopic = "keel.segments";

// Campaigns and their delivery, keyed by campaign id.
inline constexpr std::string_view kCampaignsTopic = "keel.campaigns";

// The sales team's work (seed 002): projects keyed by project id; tasks keyed by the id of their
// series (a recurring task's occurrences share one key, so that an occurrence and the next one
// it creates land in one append, in order); work logs keyed by work log id.
inline constexpr std::string_view kProjectsTopic = "keel.projects";
inline constexpr std::string_view kTasksTopic = "keel.tasks";
inline constexpr std::string_view kWorklogsTopic = "keel.worklogs";

// The product catalogue, keyed by product id. Its write model is whole in one command runtime
// (sku uniqueness is global): commands/product_service.h.
inline constexpr std::string_view kProductsTopic = "keel.products";
// Promotion definitions (seed 002), keyed by promotion id. A promotion given to a customer is an
// event of the customers stream, keyed by the customer (domain/promotion_assignment.h).
inline constexpr std::string_view kPromotionsTopic = "keel.promotions";
// Loyalty settings (issue 16): one aggregate, kLoyaltySettingsId (domain/loyalty.h).
inline constexpr std::string_view kLoyaltyTopic = "keel.loyalty";

// Every stream of this build: what a log is opened with and a mock cluster creates.
inline constexpr std::string_view kAllTopics[] = {
    kCustomersTopic, kUsersTopic,    kSegmentsTopic, kCampaignsTopic,  kProjectsTopic,
    kTasksTopic,     kWorklogsTopic, kProductsTopic, kPromotionsTopic, kLoyaltyTopic};

}  // namespace keel
