#include "projections/membership/membership_projector.h"

#include <algorithm>
#include <cstdio>

#include "domain/customer.h"
#include "infra/log.h"
#include "projections/binary.h"
#include "projections/counters.h"

namespace keel {
namespace {

std::string TimerKey(int32_t partition, Millis due, std::string_view customer) {
  std::string key = PartitionPart(partition);
  key += '/';
  key += OrderedTime(due);
  key += '/';
  key += customer;
  return key;
}

std::string MemberKey(std::string_view segment, std::string_view customer) {
  std::string key(segment);
  key += '/';
  key += customer;
  return key;
}

std::string HistoryKey(std::string_view segment, const MembershipAt& where,
                       std::string_view customer) {
  std::string key(segment);
  key += '/';
  key += OrderedTime(where.at);
  key += '/';
  key += PartitionPart(where.partition);
  key += '/';
  key += OrderedTime(where.offset);
  key += '/';
  key += customer;
  return key;
}

std::string CountPrefix(std::string_view segment) {
  std::string prefix(kMemberCountPrefix);
  prefix += segment;
  prefix += '/';
  return prefix;
}

// The rules record: version, archived flag, canonical rules.
std::string EncodeRulesRecord(const PublishedRules& rules) {
  std::string out;
  PutI64(out, rules.version);
  out.push_back(rules.rules_json ? 1 : 0);
  PutText(out, rules.rules_json.value_or(""));
  return out;
}

Result<PublishedRules> DecodeRulesRecord(std::string_view segment, std::string_view record) {
  BinaryReader in(record);
  PublishedRules rules{std::string(segment), in.I64(), std::nullopt};
  const bool active = in.Byte() == 1;
  std::string json = in.Text();
  if (in.bad() || !in.done()) return Fail(Error::DataLoss("Membership rules record unreadable"));
  if (active) rules.rules_json = std::move(json);
  return rules;
}

Result<std::shared_ptr<const SegmentMatcher>> MatcherOf(const PublishedRules& rules) {
  if (!rules.rules_json) return std::shared_ptr<const SegmentMatcher>();
  auto tree = ParseSegmentRulesJson(*rules.rules_json);
  if (!tree) {
    return Fail(Error::DataLoss("Segment " + rules.segment_id +
                                " has rules this build refuses: " + tree.error().message));
  }
  return std::make_shared<const SegmentMatcher>(std::move(*tree));
}

}  // namespace

std::string OrderedTime(int64_t t) {
  const uint64_t u = static_cast<uint64_t>(t) ^ (uint64_t{1} << 63);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(u));
  return std::string(buf, 16);
}

std::string PartitionPart(int32_t partition) { return PartitionCounterKey("", partition); }

std::string MembershipRulesKey(int32_t partition, std::string_view segment) {
  std::string key = PartitionPart(partition);
  key += '/';
  key += segment;
  return key;
}

Result<int64_t> RulesVersionOf(std::string_view record) {
  BinaryReader in(record);
  const int64_t version = in.I64();
  if (in.bad()) return Fail(Error::DataLoss("Membership rules record unreadable"));
  return version;
}

std::string EncodeCustomerRecord(const CustomerRecord& record) {
  std::string out;
  out.push_back(record.due ? 1 : 0);
  if (record.due) PutI64(out, *record.due);
  PutU32(out, static_cast<uint32_t>(record.segments.size()));
  for (const auto& e : record.segments) {
    PutText(out, e.segment_id);
    PutU32(out, static_cast<uint32_t>(e.joined.partition));
    PutI64(out, e.joined.offset);
    PutI64(out, e.joined.at);
  }
  return out;
}

Result<CustomerRecord> DecodeCustomerRecord(std::string_view bytes) {
  BinaryReader in(bytes);
  CustomerRecord record;
  if (in.Byte() == 1) record.due = in.I64();
  const uint32_t count = in.U32();
  // Each entry takes at least 24 bytes: no count can make this allocate past the record.
  if (in.bad() || count > bytes.size() / 24) {
    return Fail(Error::DataLoss("Membership record unreadable"));
  }
  record.segments.resize(count);
  for (auto& e : record.segments) {
    e.segment_id = in.Text();
    e.joined.partition = static_cast<int32_t>(in.U32());
    e.joined.offset = in.I64();
    e.joined.at = in.I64();
  }
  if (in.bad() || !in.done()) return Fail(Error::DataLoss("Membership record unreadable"));
  return record;
}

std::string EncodeJoin(const MembershipAt& at) {
  std::string out;
  PutU32(out, static_cast<uint32_t>(at.partition));
  PutI64(out, at.offset);
  PutI64(out, at.at);
  return out;
}

Result<MembershipAt> DecodeJoin(std::string_view record) {
  BinaryReader in(record);
  MembershipAt at;
  at.partition = static_cast<int32_t>(in.U32());
  at.offset = in.I64();
  at.at = in.I64();
  if (in.bad() || !in.done()) return Fail(Error::DataLoss("Segment member record unreadable"));
  return at;
}

MembershipProjector::MembershipProjector(CustomersProjector& customers) : customers_(customers) {}

std::vector<std::string> MembershipProjector::tables() const {
  return {std::string(kMembershipRulesTable),  std::string(kMembershipCustomersTable),
          std::string(kCustomerSegmentsTable), std::string(kSegmentMembersTable),
          std::string(kMembershipTimersTable), std::string(kSegmentHistoryTable)};
}

MembershipProjector::Partition& MembershipProjector::PartitionOf(int32_t partition) {
  std::lock_guard lock(mu_);
  auto& part = partitions_[partition];
  if (!part) part = std::make_unique<Partition>();
  return *part;
}

void MembershipProjector::Discard(const std::vector<int32_t>& partitions) {
  for (int32_t partition : partitions) PartitionOf(partition).loaded = false;
}

void MembershipProjector::Unapply(int32_t partition, int64_t) {
  PartitionOf(partition).loaded = false;
}

Status MembershipProjector::Load(StateView& view, int32_t partition, Partition& part) {
  part = Partition{};
  const std::string pp = PartitionPart(partition);
  auto times = view.Get(kMembershipRulesTable, pp);
  if (!times) return Fail(times.error());
  if (*times) {
    BinaryReader in(**times);
    const bool ticked = in.Byte() == 1;
    const Millis clock = in.I64();
    const Millis stamp = in.I64();
    if (in.bad() || !in.done()) return Fail(Error::Internal("Membership clock unreadable"));
    if (ticked) part.clock = clock;
    part.stamp = stamp;
  }
  Status failed;
  auto st = view.Scan(
      kMembershipRulesTable, pp + "/", pp + "/", [&](std::string_view key, std::string_view value) {
        const std::string_view segment = key.substr(pp.size() + 1);
        auto rules = DecodeRulesRecord(segment, value);
        if (!rules) {
          failed = Fail(Error::Internal(rules.error().message));
          return false;
        }
        auto matcher = MatcherOf(*rules);
        if (!matcher) {
          // Rules this build refuses (they were accepted by another): the segment counts as
          // archived here rather than stopping the customers' projections.
          Log(LogLevel::kError, "segment rules refused by this build; it has no members here",
              {{"segment", std::string(segment)}, {"error", matcher.error().message}});
          matcher = std::shared_ptr<const SegmentMatcher>();
        }
        part.any_active = part.any_active || *matcher;
        part.segments.emplace(std::string(segment), Segment{rules->version, std::move(*matcher)});
        return true;
      });
  if (!st) return st;
  if (!failed) return failed;
  part.loaded = true;
  return {};
}

// The partition's time after `at`: never earlier than a time already folded there, so that the
// times of joins and leaves rise with the log's offsets (clocks of writers may disagree).
Millis MembershipProjector::Advance(int32_t partition, Partition& part, Millis at,
                                    Changes& changes) {
  if (part.stamp && at <= *part.stamp) return *part.stamp;
  part.stamp = at;
  WriteTimes(partition, part, changes);
  return at;
}

void MembershipProjector::WriteTimes(int32_t partition, const Partition& part, Changes& changes) {
  std::string record;
  record.push_back(part.clock ? 1 : 0);
  PutI64(record, part.clock.value_or(0));
  PutI64(record, part.stamp.value_or(0));
  changes.writes.push_back({kMembershipRulesTable, PartitionPart(partition), std::move(record)});
}

Status MembershipProjector::Apply(const EventEnvelope& event, const EventPosition& position,
                                  StateView& view, std::vector<StoreWrite>& writes) {
  Partition& part = PartitionOf(position.partition);
  if (event.type == kCustomerRegistered) {
    std::string key = PartitionPart(position.partition);
    key += '/';
    key += event.aggregate_id;
    writes.push_back({kMembershipCustomersTable, std::move(key), ""});
  }
  const bool marker = IsPartitionMarker(event);
  const Customer* customer = nullptr;
  if (!marker) {
    customer = customers_.Folded(position.partition, position.offset);
    if (!customer) return {};
  }
  if (!part.loaded) {
    if (auto st = Load(view, position.partition, part); !st) return st;
  }
  Changes changes{writes, {}};
  if (marker) {
    Status st;
    if (event.type == kSegmentRulesPublished) {
      st = OnRules(event, position, view, part, changes);
    } else if (event.type == kClockTicked) {
      st = OnTick(event, position, view, part, changes);
    }
    if (!st) return st;
    return WriteCounts(view, position.partition, changes);
  }
  if (!part.any_active) return {};
  const Millis now = Advance(position.partition, part, event.recorded_at, changes);
  const MembershipAt where{position.partition, position.offset, now};
  if (auto st = Reevaluate(part, *customer, now, nullptr, where, view, changes); !st) return st;
  return WriteCounts(view, position.partition, changes);
}

Status MembershipProjector::OnRules(const EventEnvelope& event, const EventPosition& position,
                                    StateView& view, Partition& part, Changes& changes) {
  auto rules = DecodePublishedRules(event);
  if (!rules) return Fail(rules.error());
  auto known = part.segments.find(rules->segment_id);
  if (known != part.segments.end() && known->second.version >= rules->version) return {};
  auto matcher = MatcherOf(*rules);
  if (!matcher) return Fail(matcher.error());
  // Nothing below refuses the event; a failed read drops the batch and what is remembered.
  changes.writes.push_back({kMembershipRulesTable,
                            MembershipRulesKey(position.partition, rules->segment_id),
                            EncodeRulesRecord(*rules)});
  const bool first_seen = known == part.segments.end();
  part.segments[rules->segment_id] = Segment{rules->version, std::move(*matcher)};
  part.any_active = std::any_of(part.segments.begin(), part.segments.end(),
                                [](const auto& s) { return s.second.matcher != nullptr; });
  // A segment archived before this partition knew it has no member here to let go.
  if (first_seen && !rules->rules_json) return {};

  const std::string prefix = PartitionPart(position.partition) + "/";
  std::vector<std::string> ids;
  auto st = view.Scan(kMembershipCustomersTable, prefix, prefix,
                      [&](std::string_view key, std::string_view) {
                        ids.emplace_back(key.substr(prefix.size()));
                        return true;
                      });
  if (!st) return st;
  const Millis now = Advance(position.partition, part, event.recorded_at, changes);
  const MembershipAt where{position.partition, position.offset, now};
  const std::string& only = rules->segment_id;
  for (const auto& id : ids) {
    auto customer = customers_.Load(view, position.partition, id);
    if (!customer) return Fail(customer.error());
    if (!*customer) continue;
    if (auto st2 = Reevaluate(part, **customer, now, &only, where, view, changes); !st2) {
      return st2;
    }
  }
  return {};
}

Status MembershipProjector::OnTick(const EventEnvelope& event, const EventPosition& position,
                                   StateView& view, Partition& part, Changes& changes) {
  auto at = DecodeClockTicked(event);
  if (!at) return Fail(at.error());
  // Timers are due up to the partition's time (a tick never moves it back); those up to the
  // last tick's time have fired already.
  const Millis now = Advance(position.partition, part, *at, changes);
  if (part.clock && now <= *part.clock) return {};
  const std::optional<Millis> fired = part.clock;
  part.clock = now;
  WriteTimes(position.partition, part, changes);

  // The due timers, grouped by customer (each customer's record is read and written once).
  // Every timer is later than the time it was set at, so none is due at or before `fired`.
  const std::string prefix = PartitionPart(position.partition) + "/";
  std::string start = prefix;
  if (fired && *fired < INT64_MAX) start += OrderedTime(*fired + 1);
  const std::string last = OrderedTime(now);
  std::vector<std::string> due;  // customers
  auto st =
      view.Scan(kMembershipTimersTable, prefix, start, [&](std::string_view key, std::string_view) {
        std::string_view rest = key.substr(prefix.size());
        if (rest.size() < 16 || rest.substr(0, 16) > last) return false;
        changes.writes.push_back({kMembershipTimersTable, std::string(key), std::nullopt});
        if (rest.size() < 18 || rest[16] != '/') {
          return true;  // not a timer this build wrote: dropped
        }
        due.emplace_back(rest.substr(17));
        return true;
      });
  if (!st) return st;
  const MembershipAt where{position.partition, position.offset, now};
  std::sort(due.begin(), due.end());  // a customer's timer is one key: no id twice
  for (const auto& id : due) {
    auto customer = customers_.Load(view, position.partition, id);
    if (!customer) return Fail(customer.error());
    if (!*customer) continue;
    if (auto st2 = Reevaluate(part, **customer, now, nullptr, where, view, changes); !st2) {
      return st2;
    }
  }
  return {};
}

Status MembershipProjector::Reevaluate(const Partition& part, const Customer& customer, Millis now,
                                       const std::string* only, const MembershipAt& where,
                                       StateView& view, Changes& changes) {
  auto stored = view.Get(kCustomerSegmentsTable, customer.id);
  if (!stored) return Fail(stored.error());
  CustomerRecord old;
  if (*stored) {
    auto decoded = DecodeCustomerRecord(**stored);
    if (!decoded) return Fail(Error::Internal(decoded.error().message));
    old = std::move(*decoded);
  }
  auto& writes = changes.writes;
  auto join = [&](const std::string& segment) {
    writes.push_back({kSegmentMembersTable, MemberKey(segment, customer.id), EncodeJoin(where)});
    writes.push_back({kSegmentHistoryTable, HistoryKey(segment, where, customer.id), "j"});
    ++changes.count_deltas[segment];
  };
  auto leave = [&](const std::string& segment) {
    writes.push_back({kSegmentMembersTable, MemberKey(segment, customer.id), std::nullopt});
    writes.push_back({kSegmentHistoryTable, HistoryKey(segment, where, customer.id), "l"});
    --changes.count_deltas[segment];
  };

  CustomerRecord next;
  // Segments not considered stay as they were; those no longer active are left.
  for (const auto& e : old.segments) {
    if (only && e.segment_id != *only) {
      next.segments.push_back(e);
      continue;
    }
    auto segment = part.segments.find(e.segment_id);
    if (segment == part.segments.end() || !segment->second.matcher) leave(e.segment_id);
  }
  std::optional<Millis> computed;  // the earliest flip of the segments considered
  auto consider = [&](const std::string& id, const SegmentMatcher& matcher) {
    const CustomerMembership* before = nullptr;
    for (const auto& e : old.segments) {
      if (e.segment_id == id) before = &e;
    }
    if (matcher.Matches(customer, now)) {
      next.segments.push_back({id, before ? before->joined : where});
      if (!before) join(id);
    } else if (before) {
      leave(id);
    }
    if (matcher.depends_on_time()) {
      if (auto flip = matcher.NextChange(customer, now)) {
        computed = computed ? std::min(*computed, *flip) : *flip;
      }
    }
  };
  if (only) {
    auto segment = part.segments.find(*only);
    if (segment != part.segments.end() && segment->second.matcher) {
      consider(segment->first, *segment->second.matcher);
    }
  } else {
    for (const auto& [id, segment] : part.segments) {
      if (segment.matcher) consider(id, *segment.matcher);
    }
  }
  std::sort(next.segments.begin(), next.segments.end(),
            [](const auto& a, const auto& b) { return a.segment_id < b.segment_id; });

  // The timer: the earliest flip of every segment. One segment alone re-evaluated keeps the
  // others' (the old timer, whenever it is); all of them re-evaluated keep an earlier timer
  // still to come (it fires early and is set again), sparing the writes of moving it.
  next.due = computed;
  if (old.due && (only || *old.due > now)) {
    next.due = next.due ? std::min(*next.due, *old.due) : *old.due;
  }
  if (old.due != next.due) {
    if (old.due) {
      writes.push_back(
          {kMembershipTimersTable, TimerKey(where.partition, *old.due, customer.id), std::nullopt});
    }
    if (next.due) {
      writes.push_back(
          {kMembershipTimersTable, TimerKey(where.partition, *next.due, customer.id), ""});
    }
  }
  if (next == old) return {};
  if (next.segments.empty() && !next.due) {
    writes.push_back({kCustomerSegmentsTable, customer.id, std::nullopt});
  } else {
    writes.push_back({kCustomerSegmentsTable, customer.id, EncodeCustomerRecord(next)});
  }
  return {};
}

Status MembershipProjector::WriteCounts(StateView& view, int32_t partition, Changes& changes) {
  for (const auto& [segment, delta] : changes.count_deltas) {
    if (delta == 0) continue;
    const std::string key = PartitionCounterKey(CountPrefix(segment), partition);
    if (auto st = AddToCounter(view, key, delta, changes.writes); !st) return st;
  }
  return {};
}

}  // namespace keel
