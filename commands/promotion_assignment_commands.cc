#include "commands/promotion_assignment_commands.h"

#include <algorithm>

namespace keel {

const AssignmentWriteModel::Entry* AssignmentWriteModel::Find(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second;
}

std::optional<std::string_view> AssignmentWriteModel::OpenAssignment(
    std::string_view customer_id, std::string_view promotion_id, Millis now,
    std::string_view except) const {
  auto held = by_customer_.find(customer_id);
  if (held == by_customer_.end()) return std::nullopt;
  for (const Held* h : held->second) {
    const Entry& e = h->second;
    if (e.promotion_id == promotion_id && !e.used && !(e.expires_at && now >= *e.expires_at) &&
        h->first != except) {
      return std::string_view(h->first);
    }
  }
  return std::nullopt;
}

bool AssignmentWriteModel::SameAs(const AssignmentWriteModel& other) const {
  if (by_id_ != other.by_id_ || by_customer_.size() != other.by_customer_.size() ||
      pending_referrals_ != other.pending_referrals_ ||
      credited_referrals_ != other.credited_referrals_) {
    return false;
  }
  // The same ids in the same order (the nodes are each model's own).
  for (const auto& [customer, held] : by_customer_) {
    auto theirs = other.by_customer_.find(customer);
    if (theirs == other.by_customer_.end() ||
        !std::ranges::equal(held, theirs->second,
                            [](const Held* a, const Held* b) { return a->first == b->first; })) {
      return false;
    }
  }
  return true;
}

Status AssignmentWriteModel::CheckRedeemable(std::string_view id,
                                             std::string_view customer_id) const {
  const Entry* e = Find(id);
  std::string message = "Order redeems promotion assignment ";
  message += id;
  if (!e || e->customer_id != customer_id) {
    message += ", which customer ";
    message += customer_id;
    message += " does not hold";
    return Fail(Error::DataLoss(std::move(message)));
  }
  if (e->used) {
    message += ", used already";
    return Fail(Error::DataLoss(std::move(message)));
  }
  return {};
}

void AssignmentWriteModel::MarkUsed(std::string_view id) {
  auto it = by_id_.find(id);
  if (it != by_id_.end()) it->second.used = true;
}

Status AssignmentWriteModel::Apply(const PromotionAssignment& a) {
  Entry entry{a.customer_id,         a.promotion_id, a.expires_at,
              a.used_at.has_value(), a.reward_type,  a.reward_value};
  auto [node, made] = by_id_.emplace(a.id, std::move(entry));
  if (!made) return Fail(Error::DataLoss("Promotion assignment " + a.id + " was made twice"));
  by_customer_[a.customer_id].push_back(&*node);
  return {};
}

Status AssignmentWriteModel::ApplyReferral(const EventEnvelope& event) {
  auto referral = DecodeReferral(event);
  if (!referral) return Fail(referral.error());
  std::string& referred = referral->referred_id;
  if (event.type == kReferralQualified) {
    if (credited_referrals_.contains(referred)) return {};  // its credit was folded first
    PendingReferral pending{std::move(referral->referrer_id), std::move(referral->order_id)};
    if (!pending_referrals_.try_emplace(referred, std::move(pending)).second) {
      return Fail(Error::DataLoss("Customer " + referred + " qualified a referral twice"));
    }
    return {};
  }
  if (!credited_referrals_.insert(referred).second) {
    return Fail(Error::DataLoss("The referral of customer " + referred + " was credited twice"));
  }
  pending_referrals_.erase(referred);
  return {};
}

const AssignmentWriteModel::PendingReferral* AssignmentWriteModel::FindPendingReferral(
    std::string_view referred_id) const {
  auto it = pending_referrals_.find(referred_id);
  return it == pending_referrals_.end() ? nullptr : &it->second;
}

std::vector<std::string> AssignmentWriteModel::PendingReferrals(size_t max) const {
  std::vector<std::string> out;
  for (auto it = pending_referrals_.begin(); it != pending_referrals_.end() && out.size() < max;
       ++it) {
    out.push_back(it->first);
  }
  return out;
}

Result<AssignmentDecision> DecideAssignPromotion(const CustomerWriteModel& customers,
                                                 const AssignmentWriteModel& assignments,
                                                 const Result<std::optional<Promotion>>& promotion,
                                                 const AssignPromotion& cmd, std::string id,
                                                 const CommandMeta& meta, IdGenerator& ids) {
  if (!promotion) return Fail(promotion.error());
  if (!*promotion) return Fail(Error::NotFound("Promotion " + cmd.promotion_id + " not found"));
  const Promotion& p = **promotion;
  const Customer* customer = customers.Find(cmd.customer_id);
  if (!customer) {
    std::string message = "No customer with id ";
    message += cmd.customer_id;
    return Fail(Error::Validation({{"customerId", std::move(message)}}));
  }
  if (!customer->is_active) {
    std::string message = "Customer ";
    message += customer->id;
    message += " is inactive";
    return Fail(Error::Validation({{"customerId", std::move(message)}}));
  }
  if (!p.is_active()) {
    std::string message = "Promotion ";
    message += p.id;
    message += " is inactive";
    return Fail(Error::Validation({{"promotionId", std::move(message)}}));
  }
  if (auto open = assignments.OpenAssignment(customer->id, p.id, meta.now)) {
    std::string message = "Customer ";
    message += customer->id;
    message += " already holds promotion ";
    message += p.id;
    message += ", unused and unexpired (assignment ";
    message += *open;
    message += "); it may be assigned again once that one is used or has expired";
    return Fail(Error::FailedPrecondition(std::move(message)));
  }
  AssignmentDecision d;
  d.assignment = NewAssignment(std::move(id), p, customer->id, std::string(kManualAssignment),
                               meta.now, meta.actor);
  d.events.push_back(NewEvent(kPromotionAssignmentAggregate, kPromotionAssigned, d.assignment.id, 1,
                              EncodePromotionAssigned(d.assignment), meta, ids));
  return d;
}

Result<OrderPromotion> DecideRedemption(const AssignmentWriteModel& assignments,
                                        std::string_view id, std::string_view customer_id,
                                        int64_t gross_cents, Millis now) {
  constexpr const char* kField = "promotionAssignmentId";
  const AssignmentWriteModel::Entry* e = assignments.Find(id);
  std::string message = "Promotion assignment ";
  message += id;
  if (!e || e->customer_id != customer_id) {
    message += " is not one of customer ";
    message += customer_id;
    message += "'s";
    return Fail(Error::Validation({{kField, std::move(message)}}));
  }
  if (e->used) {
    message += " was used already (by another order)";
    return Fail(Error::Validation({{kField, std::move(message)}}));
  }
  if (e->expires_at && now >= *e->expires_at) {
    message += " expired at ";
    message += FormatIso8601(*e->expires_at);
    return Fail(Error::Validation({{kField, std::move(message)}}));
  }
  OrderPromotion p;
  p.assignment_id = std::string(id);
  p.promotion_id = e->promotion_id;
  p.reward_type = e->reward_type;
  p.reward_value = e->reward_value;
  p.discount_cents = RewardDiscount(e->reward_type, e->reward_value, gross_cents);
  return p;
}

void EarnUnlessHeld(const AssignmentWriteModel& assignments, const Promotion& promotion,
                    const std::string& customer_id, std::string_view reason,
                    const CommandMeta& meta, IdGenerator& ids, std::vector<EventEnvelope>& events,
                    std::string_view except) {
  if (assignments.OpenAssignment(customer_id, promotion.id, meta.now, except)) return;
  PromotionAssignment a =
      NewAssignment(ids.NewId(), promotion, customer_id, std::string(reason), meta.now, meta.actor);
  events.push_back(NewEvent(kPromotionAssignmentAggregate, kPromotionAssigned, a.id, 1,
                            EncodePromotionAssigned(a), meta, ids));
}

std::vector<EventEnvelope> DecideEarnedAssignments(const AssignmentWriteModel& assignments,
                                                   const std::vector<Promotion>& earnable,
                                                   const Customer& customer, const Order& order,
                                                   const CommandMeta& meta, IdGenerator& ids) {
  std::vector<EventEnvelope> events;
  if (order.status == OrderStatus::kCancelled) return events;
  const bool first = !customer.stats.first_order_at.has_value();
  for (const Promotion& p : earnable) {
    if (!p.is_active()) continue;
    const PromotionCondition& condition = p.definition.condition;
    std::string_view reason;
    if (condition.type == ConditionType::kFirstPurchase && first) {
      reason = kFirstPurchaseAssignment;
    } else if (condition.type == ConditionType::kMinimumPurchase &&
               order.amount_cents >= condition.amount_cents) {
      reason = kMinimumPurchaseAssignment;
    } else {
      continue;
    }
    const std::string_view redeemed =
        order.promotion ? std::string_view(order.promotion->assignment_id) : std::string_view();
    EarnUnlessHeld(assignments, p, customer.id, reason, meta, ids, events, redeemed);
  }
  return events;
}

std::optional<EventEnvelope> DecideReferralQualified(const std::vector<Promotion>& earnable,
                                                     const Customer& customer, const Order& order,
                                                     const CommandMeta& meta, IdGenerator& ids) {
  const std::optional<std::string>& referrer = customer.details.get().referred_by;
  if (!referrer || customer.stats.first_order_at || order.status == OrderStatus::kCancelled) {
    return std::nullopt;
  }
  const bool offered = std::ranges::any_of(earnable, [](const Promotion& p) {
    return p.is_active() && p.definition.condition.type == ConditionType::kReferral;
  });
  if (!offered) return std::nullopt;
  return NewEvent(kCustomerReferralAggregate, kReferralQualified, customer.id, 1,
                  EncodeReferral({*referrer, customer.id, order.id}), meta, ids);
}

ReferralCreditDecision DecideCreditReferral(const CustomerWriteModel& customers,
                                            const AssignmentWriteModel& assignments,
                                            const std::vector<Promotion>& earnable,
                                            const std::string& referred_id, const CommandMeta& meta,
                                            IdGenerator& ids) {
  ReferralCreditDecision d;
  const AssignmentWriteModel::PendingReferral* pending =
      assignments.FindPendingReferral(referred_id);
  if (!pending) return d;
  d.referrer_id = pending->referrer_id;
  d.events.push_back(
      NewEvent(kCustomerReferralAggregate, kReferralCredited, referred_id, 2,
               EncodeReferral({pending->referrer_id, referred_id, pending->order_id}), meta, ids));
  const Customer* referrer = customers.Find(pending->referrer_id);
  if (!referrer || !referrer->is_active) return d;  // credited, with nothing to give
  for (const Promotion& p : earnable) {
    if (!p.is_active() || p.definition.condition.type != ConditionType::kReferral) continue;
    EarnUnlessHeld(assignments, p, referrer->id, kReferralAssignment, meta, ids, d.events);
  }
  return d;
}

}  // namespace keel
