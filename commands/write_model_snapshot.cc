// The snapshot form of the customers stream's write model. What Save writes must restore to a
// model equal to the fold of the same events (write_model_snapshot_test.cc checks it); a change
// to the models or to their fold changes kWriteModelFormat (command_service.cc).
#include "commands/write_model.h"

namespace keel {

namespace {

constexpr int kStatuses = static_cast<int>(OrderStatus::kCancelled) + 1;

}  // namespace

void CustomerWriteModel::Save(SnapshotWriter& out,
                              std::unordered_map<const std::string*, uint64_t>& ordinals) const {
  ordinals.reserve(customers_.size());
  out.Unsigned(customers_.size());
  for (const auto& [id, c] : customers_) {
    ordinals.emplace(&c.id, ordinals.size());
    out.Text(c.id);
    out.Text(c.name);
    out.Text(c.email);
    out.OptionalText(c.phone);
    out.Signed(c.total_spending_cents);
    out.Signed(c.visits);
    out.OptionalSigned(c.last_visit);
    out.Bool(c.is_active);
    out.Bool(c.unsubscribed);
    out.Unsigned(static_cast<uint64_t>(c.status));
    out.Unsigned(static_cast<uint64_t>(c.customer_type));
    const CustomerDetails& d = c.details.get();
    out.OptionalText(d.first_name);
    out.OptionalText(d.last_name);
    out.OptionalText(d.company_name);
    out.OptionalText(d.birth_date);
    out.OptionalText(d.address);
    out.OptionalText(d.referred_by);
    out.Unsigned(d.tags.size());
    for (const auto& tag : d.tags) out.Text(tag);
    out.OptionalText(c.owner_id);
    out.Signed(c.created_at);
    out.Signed(c.updated_at);
    out.Signed(c.version);
    out.Signed(c.stats.order_count);
    out.Signed(c.stats.order_cents);
    out.Signed(c.stats.recorded_visits);
    out.OptionalSigned(c.stats.first_order_at);
    out.OptionalSigned(c.stats.last_order_at);
    out.OptionalSigned(c.stats.last_activity);
    out.Signed(c.stats.revision);
    out.Unsigned(c.standing.recency);
    out.Unsigned(c.standing.frequency);
    out.Unsigned(c.standing.monetary);
    out.Unsigned(static_cast<uint64_t>(c.standing.level));
    out.Signed(c.standing_version);
    // Whether the email index points here: an imported log may have given two customers one
    // email, and then the index holds the one that took it last.
    auto owner = email_owner_.find(c.email);
    out.Bool(owner != email_owner_.end() && owner->second == &c);
  }
}

bool CustomerWriteModel::Restore(SnapshotReader& in, std::vector<const std::string*>& ids) {
  const uint64_t count = in.Unsigned();
  if (in.bad() || !customers_.empty()) return false;
  // Every customer takes a few bytes at least: a count past them is not believed.
  ids.reserve(std::min<uint64_t>(count, in.remaining()));
  for (uint64_t i = 0; i < count && !in.bad(); ++i) {
    Customer c;
    c.id = in.Text();
    c.name = in.Text();
    c.email = in.Text();
    c.phone = in.OptionalText();
    c.total_spending_cents = in.Signed();
    c.visits = in.Signed();
    c.last_visit = in.OptionalSigned();
    c.is_active = in.Bool();
    c.unsubscribed = in.Bool();
    const uint64_t status = in.Unsigned();
    const uint64_t type = in.Unsigned();
    if (status > static_cast<uint64_t>(CustomerStatus::kChurned) ||
        type > static_cast<uint64_t>(CustomerType::kCompany)) {
      return false;
    }
    c.status = static_cast<CustomerStatus>(status);
    c.customer_type = static_cast<CustomerType>(type);
    CustomerDetails d;
    d.first_name = in.OptionalText();
    d.last_name = in.OptionalText();
    d.company_name = in.OptionalText();
    d.birth_date = in.OptionalText();
    d.address = in.OptionalText();
    d.referred_by = in.OptionalText();
    const uint64_t tags = in.Unsigned();
    if (in.bad() || tags > kMaxCustomerTags) return false;
    for (uint64_t t = 0; t < tags; ++t) d.tags.emplace_back(in.Text());
    if (!(d == CustomerDetails{})) c.details.mut() = std::move(d);
    c.owner_id = in.OptionalText();
    c.created_at = in.Signed();
    c.updated_at = in.Signed();
    c.version = in.Signed();
    c.stats.order_count = in.Signed();
    c.stats.order_cents = in.Signed();
    c.stats.recorded_visits = in.Signed();
    c.stats.first_order_at = in.OptionalSigned();
    c.stats.last_order_at = in.OptionalSigned();
    c.stats.last_activity = in.OptionalSigned();
    c.stats.revision = in.Signed();
    const uint64_t scores[] = {in.Unsigned(), in.Unsigned(), in.Unsigned()};
    const uint64_t level = in.Unsigned();
    c.standing_version = in.Signed();
    for (uint64_t score : scores) {
      if (score < 1 || score > 5) return false;
    }
    if (level >= kLoyaltyLevels || c.standing_version < 0) return false;
    c.standing = LoyaltyStanding{static_cast<uint8_t>(scores[0]), static_cast<uint8_t>(scores[1]),
                                 static_cast<uint8_t>(scores[2]), static_cast<LoyaltyLevel>(level)};
    const bool owns_email = in.Bool();
    if (in.bad() || c.version <= 0) return false;
    std::string key = c.id;
    auto [it, inserted] = customers_.emplace(std::move(key), std::move(c));
    if (!inserted) return false;
    if (owns_email) {
      auto [owner, first] = email_owner_.emplace(it->second.email, &it->second);
      if (!first) return false;
    }
    ids.push_back(&it->second.id);
  }
  return !in.bad();
}

bool CustomerWriteModel::SameAs(const CustomerWriteModel& other) const {
  if (customers_.size() != other.customers_.size() ||
      email_owner_.size() != other.email_owner_.size()) {
    return false;
  }
  for (const auto& [id, c] : customers_) {
    const Customer* o = other.Find(id);
    if (!o || !(*o == c)) return false;
  }
  for (const auto& [email, c] : email_owner_) {
    const Customer* o = other.FindByEmail(email);
    if (!o || o->id != c->id) return false;
  }
  return true;
}

bool OrderWriteModel::Save(SnapshotWriter& out,
                           const std::unordered_map<const std::string*, uint64_t>& ordinals) const {
  bool whole = true;
  auto entry = [&](const Entry& e) {
    auto customer = ordinals.find(e.customer_id);
    if (customer == ordinals.end()) {
      whole = false;  // an order of no customer: a bug, and no snapshot of it
      return;
    }
    out.Unsigned(customer->second);
    out.Signed(e.amount_cents);
    out.Signed(e.order_date);
    out.Signed(e.created_at);
    out.Signed(e.updated_at);
    out.Signed(e.version);
    out.Unsigned(static_cast<uint64_t>(e.status));
    out.Bool(e.has_external_id);
    out.Text(e.external_id);
  };
  out.Unsigned(by_uuid_.size());
  for (const auto& [uuid, e] : by_uuid_) {
    out.Unsigned(uuid.hi);
    out.Unsigned(uuid.lo);
    entry(e);
  }
  out.Unsigned(by_name_.size());
  for (const auto& [id, e] : by_name_) {
    out.Text(id);
    entry(e);
  }
  return whole;
}

bool OrderWriteModel::Restore(SnapshotReader& in, const std::vector<const std::string*>& ids) {
  if (!by_uuid_.empty() || !by_name_.empty()) return false;
  auto entry = [&](Entry& e) {
    const uint64_t customer = in.Unsigned();
    e.amount_cents = in.Signed();
    e.order_date = in.Signed();
    e.created_at = in.Signed();
    e.updated_at = in.Signed();
    const int64_t version = in.Signed();
    const uint64_t status = in.Unsigned();
    e.has_external_id = in.Bool();
    e.external_id = in.Text();
    if (in.bad() || customer >= ids.size() || status >= kStatuses || version <= 0 ||
        version > INT32_MAX) {
      return false;
    }
    e.customer_id = ids[customer];
    e.version = static_cast<int32_t>(version);
    e.status = static_cast<OrderStatus>(status);
    return true;
  };
  const uint64_t uuids = in.Unsigned();
  for (uint64_t i = 0; i < uuids && !in.bad(); ++i) {
    Uuid uuid;
    uuid.hi = in.Unsigned();
    uuid.lo = in.Unsigned();
    Entry e;
    if (!entry(e) || !by_uuid_.emplace(uuid, std::move(e)).second) return false;
  }
  const uint64_t names = in.Unsigned();
  for (uint64_t i = 0; i < names && !in.bad(); ++i) {
    std::string id(in.Text());
    Entry e;
    if (!entry(e) || !by_name_.emplace(std::move(id), std::move(e)).second) return false;
  }
  return !in.bad();
}

bool OrderWriteModel::SameAs(const OrderWriteModel& other) const {
  if (by_uuid_.size() != other.by_uuid_.size() || by_name_.size() != other.by_name_.size()) {
    return false;
  }
  auto same = [](const Entry& a, const Entry& b) {
    return *a.customer_id == *b.customer_id && a.amount_cents == b.amount_cents &&
           a.order_date == b.order_date && a.created_at == b.created_at &&
           a.updated_at == b.updated_at && a.version == b.version && a.status == b.status &&
           a.has_external_id == b.has_external_id && a.external_id == b.external_id;
  };
  for (const auto& [uuid, e] : by_uuid_) {
    auto it = other.by_uuid_.find(uuid);
    if (it == other.by_uuid_.end() || !same(e, it->second)) return false;
  }
  for (const auto& [id, e] : by_name_) {
    auto it = other.by_name_.find(id);
    if (it == other.by_name_.end() || !same(e, it->second)) return false;
  }
  return true;
}

void PaymentWriteModel::Save(SnapshotWriter& out) const {
  for (const auto* sums : {&by_order_, &on_account_}) {
    out.Unsigned(sums->size());
    for (const auto& [id, net] : *sums) {
      out.Text(id);
      out.Signed(net);
    }
  }
}

bool PaymentWriteModel::Restore(SnapshotReader& in) {
  if (!by_order_.empty() || !on_account_.empty()) return false;
  for (auto* sums : {&by_order_, &on_account_}) {
    const uint64_t count = in.Unsigned();
    for (uint64_t i = 0; i < count && !in.bad(); ++i) {
      std::string id(in.Text());
      const int64_t net = in.Signed();
      if (in.bad() || !sums->emplace(std::move(id), net).second) return false;
    }
  }
  return !in.bad();
}

void AssignmentWriteModel::Save(SnapshotWriter& out) const {
  out.Unsigned(by_customer_.size());
  for (const auto& [customer, held] : by_customer_) {
    out.Text(customer);
    out.Unsigned(held.size());
    for (const Held* h : held) {
      const Entry& e = h->second;
      out.Text(h->first);
      out.Text(e.promotion_id);
      out.OptionalSigned(e.expires_at);
      out.Bool(e.used);
      out.Unsigned(static_cast<uint64_t>(e.reward_type));
      out.Signed(e.reward_value);
    }
  }
  out.Unsigned(pending_referrals_.size());
  for (const auto& [referred, pending] : pending_referrals_) {
    out.Text(referred);
    out.Text(pending.referrer_id);
    out.Text(pending.order_id);
  }
  out.Unsigned(credited_referrals_.size());
  for (const std::string& referred : credited_referrals_) out.Text(referred);
}

bool AssignmentWriteModel::Restore(SnapshotReader& in) {
  if (!by_id_.empty() || !by_customer_.empty()) return false;
  const uint64_t customers = in.Unsigned();
  for (uint64_t c = 0; c < customers && !in.bad(); ++c) {
    std::string customer(in.Text());
    const uint64_t count = in.Unsigned();
    if (in.bad() || count == 0 || by_customer_.contains(customer)) return false;
    std::vector<const Held*>& held = by_customer_[customer];
    for (uint64_t i = 0; i < count && !in.bad(); ++i) {
      std::string id(in.Text());
      Entry e;
      e.customer_id = customer;
      e.promotion_id = std::string(in.Text());
      e.expires_at = in.OptionalSigned();
      e.used = in.Bool();
      const uint64_t type = in.Unsigned();
      if (type > static_cast<uint64_t>(RewardType::kFixedAmount)) return false;
      e.reward_type = static_cast<RewardType>(type);
      e.reward_value = in.Signed();
      if (in.bad()) return false;
      auto [node, made] = by_id_.emplace(std::move(id), std::move(e));
      if (!made) return false;
      held.push_back(&*node);
    }
  }
  const uint64_t pending = in.Unsigned();
  for (uint64_t i = 0; i < pending && !in.bad(); ++i) {
    std::string referred(in.Text());
    PendingReferral p;
    p.referrer_id = std::string(in.Text());
    p.order_id = std::string(in.Text());
    if (in.bad() || !pending_referrals_.emplace(std::move(referred), std::move(p)).second) {
      return false;
    }
  }
  const uint64_t credited = in.Unsigned();
  for (uint64_t i = 0; i < credited && !in.bad(); ++i) {
    std::string referred(in.Text());
    if (in.bad() || pending_referrals_.contains(referred) ||
        !credited_referrals_.insert(std::move(referred)).second) {
      return false;
    }
  }
  return !in.bad();
}

bool WriteModel::Save(SnapshotWriter& out) const {
  std::unordered_map<const std::string*, uint64_t> ordinals;
  customers.Save(out, ordinals);
  if (!orders.Save(out, ordinals)) return false;
  payments.Save(out);
  assignments.Save(out);
  return true;
}

bool WriteModel::Restore(SnapshotReader& in) {
  std::vector<const std::string*> ids;
  return customers.Restore(in, ids) && orders.Restore(in, ids) && payments.Restore(in) &&
         assignments.Restore(in);
}

}  // namespace keel
