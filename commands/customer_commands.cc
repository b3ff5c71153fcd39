#include "commands/customer_commands.h"

#include "domain/text.h"

namespace keel {
namespace {

Result<const Customer*> FindChecked(const CustomerWriteModel& state, const std::string& id,
                                    std::optional<int64_t> expected_version) {
  const Customer* c = state.Find(id);
  if (!c) return Fail(Error::NotFound("Customer " + id + " not found"));
  if (auto st = CheckExpectedVersion("Customer", id, c->version, expected_version); !st) {
    return Fail(st.error());
  }
  return c;
}

Status CheckEmailFree(const CustomerWriteModel& state, const std::string& email,
                      std::string_view self) {
  auto owner = state.OwnerOfEmail(email);
  if (owner && *owner != self) {
    return Fail(Error::AlreadyExists("A customer with email " + email + " already exists"));
  }
  return {};
}

// What the body alone cannot tell: a birthDate not after today, a referredBy naming another
// existing customer. Every violation is listed.
void CheckAgainstState(const CustomerWriteModel& state, const CustomerFields& f,
                       std::string_view self, const CommandMeta& meta,
                       std::vector<FieldError>& errors) {
  if (f.birth_date && *f.birth_date && **f.birth_date > DateOf(meta.now)) {
    errors.push_back({"birthDate", "Must not be in the future"});
  }
  if (f.referred_by && *f.referred_by) {
    if (**f.referred_by == self) {
      errors.push_back({"referredBy", "A customer cannot refer themselves"});
    } else if (!state.Find(**f.referred_by)) {
      errors.push_back({"referredBy", "Customer " + **f.referred_by + " not found"});
    }
  }
}

std::string IllegalStatusMessage(CustomerStatus from, CustomerStatus to) {
  std::string m = "Cannot change status from ";
  m += CustomerStatusName(from);
  m += " to ";
  m += CustomerStatusName(to);
  m += ": a status moves forward along LEAD, OPPORTUNITY, CUSTOMER, to CHURNED, or from CHURNED";
  return m;
}

}  // namespace

const Customer* CustomerWriteModel::Find(std::string_view id) const {
  auto it = customers_.find(id);
  return it == customers_.end() ? nullptr : &it->second;
}

const Customer* CustomerWriteModel::FindByEmail(std::string_view email) const {
  auto it = email_owner_.find(email);
  return it == email_owner_.end() ? nullptr : it->second;
}

const std::string* CustomerWriteModel::OwnerOfEmail(std::string_view email) const {
  const Customer* c = FindByEmail(email);
  return c ? &c->id : nullptr;
}

Status CustomerWriteModel::Apply(const EventEnvelope& event) {
  Customer& c = customers_[event.aggregate_id];
  const std::string old_email = c.email;
  Customer next = c;
  if (auto st = ApplyCustomerEvent(next, event); !st) {
    if (c.version == 0) customers_.erase(event.aggregate_id);
    return st;
  }
  c = std::move(next);
  if (c.email != old_email) {
    auto it = email_owner_.find(old_email);
    if (it != email_owner_.end() && it->second == &c) email_owner_.erase(it);
    email_owner_[c.email] = &c;
  }
  return {};
}

void CustomerWriteModel::RepairEmailIndex() {
  std::erase_if(email_owner_, [](const auto& entry) { return entry.second->email != entry.first; });
  // Two holders of one email only from an imported log: the one updated last keeps it (ties: the
  // smaller id), as the read model's lookup answers, whatever the map's order.
  for (const auto& [id, c] : customers_) {
    if (c.email.empty()) continue;
    auto [it, fresh] = email_owner_.try_emplace(c.email, &c);
    const Customer& held = *it->second;
    if (!fresh &&
        (c.updated_at > held.updated_at || (c.updated_at == held.updated_at && c.id < held.id))) {
      it->second = &c;
    }
  }
}

Status CustomerWriteModel::ApplyStanding(const EventEnvelope& event) {
  auto it = customers_.find(event.aggregate_id);
  if (it == customers_.end()) {
    return Fail(Error::DataLoss("Standing change of unknown customer " + event.aggregate_id));
  }
  return ApplyStandingEvent(it->second, event);  // all or nothing
}

Status CustomerWriteModel::ApplyOrder(const OrderChange& change) {
  auto it = customers_.find(change.customer_id);
  if (it == customers_.end()) {
    return Fail(Error::DataLoss("Order event for unknown customer " + change.customer_id));
  }
  return ApplyOrderToStats(it->second.stats, change);
}

Result<std::vector<EventEnvelope>> DecideRegister(const CustomerWriteModel& state,
                                                  const RegisterCustomer& cmd,
                                                  const CommandMeta& meta, IdGenerator& ids) {
  if (!cmd.fields.name || !cmd.fields.email) {
    return Fail(Error::InvalidArgument("Registration needs a name and an email"));
  }
  if (state.Find(cmd.new_id)) return Fail(Error::AlreadyExists("Customer id is taken"));
  std::vector<FieldError> errors;
  CheckAgainstState(state, cmd.fields, cmd.new_id, meta, errors);
  if (cmd.fields.customer_type == CustomerType::kCompany &&
      !cmd.fields.company_name.value_or(std::nullopt)) {
    errors.push_back({"companyName", "Company name is required when customerType is COMPANY"});
  }
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  if (auto st = CheckEmailFree(state, *cmd.fields.email, cmd.new_id); !st) return Fail(st.error());
  std::vector<EventEnvelope> events;
  events.push_back(NewEvent(kCustomerAggregate, kCustomerRegistered, cmd.new_id, 1,
                            EncodeCustomerFields(WithDefaults(cmd.fields)), meta, ids));
  return events;
}

Result<std::vector<EventEnvelope>> DecideUpdate(const CustomerWriteModel& state,
                                                const UpdateCustomer& cmd,
                                                const CommandMeta& meta, IdGenerator& ids) {
  auto found = FindChecked(state, cmd.id, cmd.expected_version);
  if (!found) return Fail(found.error());
  const Customer& c = **found;
  CustomerFields wanted = cmd.replace ? WithProfileDefaults(cmd.fields) : cmd.fields;
  const CustomerDetails& d = c.details.get();
  std::vector<FieldError> errors;
  CheckAgainstState(state, wanted, c.id, meta, errors);
  if (!wanted.name && (wanted.first_name || wanted.last_name)) {
    auto derived = NameFromParts(wanted.first_name.value_or(d.first_name),
                                 wanted.last_name.value_or(d.last_name));
    if (derived && Utf8Length(*derived) > 100) {
      errors.push_back(
          {"name", "Name (from firstName and lastName) must be at most 100 characters"});
    } else if (derived) {
      wanted.name = std::move(derived);
    }
  }
  if (wanted.customer_type.value_or(c.customer_type) == CustomerType::kCompany &&
      !wanted.company_name.value_or(d.company_name)) {
    errors.push_back({"companyName", "Company name is required when customerType is COMPANY"});
  }
  if (wanted.status && !IsLegalStatusChange(c.status, *wanted.status)) {
    errors.push_back({"status", IllegalStatusMessage(c.status, *wanted.status)});
  }
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  // Only what actually changes goes into the event; an update that changes nothing appends
  // nothing, so retried PUTs and PATCHes are naturally idempotent.
  CustomerFields diff;
  if (wanted.name && *wanted.name != c.name) diff.name = wanted.name;
  if (wanted.email && *wanted.email != c.email) {
    if (auto st = CheckEmailFree(state, *wanted.email, c.id); !st) return Fail(st.error());
    diff.email = wanted.email;
  }
  if (wanted.phone && *wanted.phone != c.phone) diff.phone = wanted.phone;
  if (wanted.total_spending_cents && *wanted.total_spending_cents != c.total_spending_cents) {
    // A baseline may always go down; up only as far as the limit on the total.
    if (*wanted.total_spending_cents > c.total_spending_cents &&
        !WithinSpendingLimit(*wanted.total_spending_cents, c.stats.order_cents, 0)) {
      return Fail(Error::Validation({{"totalSpending", SpendingLimitMessage()}}));
    }
    diff.total_spending_cents = wanted.total_spending_cents;
  }
  if (wanted.visits && *wanted.visits != c.visits) diff.visits = wanted.visits;
  if (wanted.last_visit && *wanted.last_visit != c.last_visit) diff.last_visit = wanted.last_visit;
  if (wanted.is_active && *wanted.is_active != c.is_active) diff.is_active = wanted.is_active;
  if (wanted.owner_id && *wanted.owner_id != c.owner_id) diff.owner_id = wanted.owner_id;
  if (wanted.customer_type && *wanted.customer_type != c.customer_type) {
    diff.customer_type = wanted.customer_type;
  }
  auto detail = [](const auto& want, const auto& have, auto& out) {
    if (want && *want != have) out = want;
  };
  detail(wanted.first_name, d.first_name, diff.first_name);
  detail(wanted.last_name, d.last_name, diff.last_name);
  detail(wanted.company_name, d.company_name, diff.company_name);
  detail(wanted.birth_date, d.birth_date, diff.birth_date);
  detail(wanted.address, d.address, diff.address);
  detail(wanted.referred_by, d.referred_by, diff.referred_by);
  detail(wanted.tags, d.tags, diff.tags);
  std::vector<EventEnvelope> events;
  int64_t version = c.version;
  if (!diff.empty()) {
    events.push_back(NewEvent(kCustomerAggregate, kCustomerUpdated, c.id, ++version,
                              EncodeCustomerFields(diff), meta, ids));
  }
  if (wanted.status && *wanted.status != c.status) {
    events.push_back(NewEvent(kCustomerAggregate, kCustomerStatusChanged, c.id, ++version,
                              EncodeStatusChange({c.status, *wanted.status}), meta, ids));
  }
  return events;
}

Result<std::vector<EventEnvelope>> DecideDeactivate(const CustomerWriteModel& state,
                                                    const DeactivateCustomer& cmd,
                                                    const CommandMeta& meta, IdGenerator& ids) {
  auto found = FindChecked(state, cmd.id, cmd.expected_version);
  if (!found) return Fail(found.error());
  std::vector<EventEnvelope> events;
  if ((*found)->is_active) {
    events.push_back(
        NewEvent(kCustomerAggregate, kCustomerDeactivated, cmd.id, (*found)->version + 1, "{}", meta, ids));
  }
  return events;
}

Result<std::vector<EventEnvelope>> DecideChangeSubscription(const CustomerWriteModel& state,
                                                            const ChangeSubscription& cmd,
                                                            const CommandMeta& meta,
                                                            IdGenerator& ids) {
  auto found = FindChecked(state, cmd.id, std::nullopt);
  if (!found) return Fail(found.error());
  std::vector<EventEnvelope> events;
  if ((*found)->unsubscribed != cmd.unsubscribe) {
    events.push_back(NewEvent(kCustomerAggregate,
                              cmd.unsubscribe ? kCustomerUnsubscribed : kCustomerResubscribed,
                              cmd.id, (*found)->version + 1, "{}", meta, ids));
  }
  return events;
}

Result<std::vector<EventEnvelope>> DecideRecordVisit(const CustomerWriteModel& state,
                                                     const RecordVisit& cmd,
                                                     const CommandMeta& meta, IdGenerator& ids) {
  auto found = FindChecked(state, cmd.id, std::nullopt);
  if (!found) return Fail(found.error());
  std::vector<EventEnvelope> events;
  events.push_back(NewEvent(kCustomerAggregate, kCustomerVisitRecorded, cmd.id,
                            (*found)->version + 1, EncodeVisit(cmd.visited_at.value_or(meta.now)),
                            meta, ids));
  return events;
}

}  // namespace keel
