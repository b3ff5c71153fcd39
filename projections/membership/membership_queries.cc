#include "projections/membership/membership_queries.h"

#include <algorithm>
#include <charconv>
#include <unordered_map>

#include "projections/counters.h"

namespace keel {
namespace {

std::string SegmentPrefix(std::string_view segment) {
  std::string prefix(segment);
  prefix += '/';
  return prefix;
}

// 16 hex digits (OrderedTime) back to the time.
std::optional<int64_t> FromOrderedTime(std::string_view hex) {
  uint64_t u = 0;
  auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), u, 16);
  if (ec != std::errc() || end != hex.data() + hex.size() || hex.size() != 16) return std::nullopt;
  return static_cast<int64_t>(u ^ (uint64_t{1} << 63));
}

// A history key after the segment's prefix: time/partition/offset/customer.
std::optional<MembershipChange> ParseHistory(std::string_view rest, std::string_view value) {
  // time (16) / partition (5) / offset (16) / customer (at least one character)
  if (rest.size() < 41 || rest[16] != '/' || rest[22] != '/' || rest[39] != '/' ||
      (value != "j" && value != "l")) {
    return std::nullopt;
  }
  MembershipChange change;
  auto at = FromOrderedTime(rest.substr(0, 16));
  int32_t partition = 0;
  auto p = rest.substr(17, 5);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), partition);
  auto offset = FromOrderedTime(rest.substr(23, 16));
  if (!at || !offset || ec != std::errc()) return std::nullopt;
  change.at = {partition, *offset, *at};
  change.customer_id = std::string(rest.substr(40));
  change.joined = value == "j";
  return change;
}

}  // namespace

Result<std::vector<SegmentMember>> QuerySegmentMembers(ReadStore& store, std::string_view segment,
                                                       std::string_view after, size_t limit) {
  const std::string prefix = SegmentPrefix(segment);
  std::string start = prefix;
  if (!after.empty()) {
    start += after;
    start.push_back('\0');  // the first key past `after`
  }
  std::vector<SegmentMember> out;
  Status failed;
  auto st = store.Scan(kSegmentMembersTable, prefix, start,
                       [&](std::string_view key, std::string_view value) {
                         if (out.size() >= limit) return false;
                         auto joined = DecodeJoin(value);
                         if (!joined) {
                           failed = Fail(Error::Internal(joined.error().message));
                           return false;
                         }
                         out.push_back({std::string(key.substr(prefix.size())), *joined});
                         return true;
                       });
  if (!st) return Fail(st.error());
  if (!failed) return Fail(failed.error());
  return out;
}

Result<int64_t> QueryMemberCount(ReadStore& store, std::string_view segment) {
  std::string prefix(kMemberCountPrefix);
  prefix += segment;
  prefix += '/';
  return SumCounters(store, prefix);
}

Result<std::vector<CustomerMembership>> QueryCustomerMemberships(ReadStore& store,
                                                                 std::string_view customer) {
  auto record = store.Get(kCustomerSegmentsTable, customer);
  if (!record) return Fail(record.error());
  if (!*record) return std::vector<CustomerMembership>{};
  auto decoded = DecodeCustomerRecord(**record);
  if (!decoded) return Fail(Error::Internal(decoded.error().message));
  return std::move(decoded->segments);
}

Result<std::vector<int64_t>> QueryFoldedVersions(ReadStore& store, std::string_view segment,
                                                 int32_t partitions) {
  std::vector<int64_t> versions;
  for (int32_t p = 0; p < partitions; ++p) {
    auto record = store.Get(kMembershipRulesTable, MembershipRulesKey(p, segment));
    if (!record) return Fail(record.error());
    int64_t version = 0;
    if (*record) {
      auto folded = RulesVersionOf(**record);
      if (!folded) return Fail(Error::Internal(folded.error().message));
      version = *folded;
    }
    versions.push_back(version);
  }
  return versions;
}

Result<std::vector<MembershipChange>> QuerySegmentHistory(ReadStore& store,
                                                          std::string_view segment, Millis from,
                                                          Millis to, size_t limit,
                                                          std::string_view after,
                                                          std::string* next) {
  const std::string prefix = SegmentPrefix(segment);
  std::string start = prefix + OrderedTime(from);
  if (!after.empty()) {
    std::string past = prefix;
    past += after;
    past.push_back('\0');
    start = std::max(start, past);
  }
  const std::string last = OrderedTime(to);
  std::vector<MembershipChange> out;
  std::string last_key;
  bool more = false;
  Status failed;
  auto st = store.Scan(kSegmentHistoryTable, prefix, start,
                       [&](std::string_view key, std::string_view value) {
                         std::string_view rest = key.substr(prefix.size());
                         if (rest.substr(0, 16) > last) return false;
                         if (out.size() >= limit) {
                           more = true;
                           return false;
                         }
                         auto change = ParseHistory(rest, value);
                         if (!change) {
                           failed = Fail(Error::Internal("Segment history record unreadable"));
                           return false;
                         }
                         out.push_back(std::move(*change));
                         last_key = rest;
                         return true;
                       });
  if (!st) return Fail(st.error());
  if (!failed) return Fail(failed.error());
  if (next) *next = more ? last_key : std::string();
  return out;
}

Result<MembersAt> QueryMembersAt(ReadStore& store, std::string_view segment, Millis at,
                                 size_t max_changes, size_t offset, size_t limit) {
  const std::string prefix = SegmentPrefix(segment);
  const std::string start = prefix + OrderedTime(at == INT64_MAX ? at : at + 1);
  // The changes after `at`: each customer's first says where it stood at `at` (a join: out; a
  // leave: in). Times rise with the log within a partition, and a customer is in one.
  auto changes_after = [&](std::unordered_map<std::string, bool>* then) -> Result<size_t> {
    size_t changes = 0;
    Status failed;
    auto st = store.Scan(kSegmentHistoryTable, prefix, start,
                         [&](std::string_view key, std::string_view value) {
                           if (at == INT64_MAX) return false;
                           if (++changes > max_changes) return false;
                           if (!then) return true;
                           auto change = ParseHistory(key.substr(prefix.size()), value);
                           if (!change) {
                             failed = Fail(Error::Internal("Segment history record unreadable"));
                             return false;
                           }
                           then->try_emplace(change->customer_id, !change->joined);
                           return true;
                         });
    if (!st) return Fail(st.error());
    if (!failed) return Fail(failed.error());
    if (changes > max_changes) {
      return Fail(Error::InvalidArgument("More than " + std::to_string(max_changes) +
                                         " membership changes follow that time; ask for a "
                                         "later one"));
    }
    return changes;
  };
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::unordered_map<std::string, bool> then;
    auto before = changes_after(&then);
    if (!before) return Fail(before.error());
    std::vector<std::string> were_in;  // members at `at` whose membership changed since
    for (const auto& [id, member] : then) {
      if (member) were_in.push_back(id);
    }
    std::sort(were_in.begin(), were_in.end());
    MembersAt page;
    auto emit = [&](std::string_view id) {
      if (page.total >= static_cast<int64_t>(offset) && page.ids.size() < limit) {
        page.ids.emplace_back(id);
      }
      ++page.total;
    };
    size_t next = 0;
    auto st = store.Scan(kSegmentMembersTable, prefix, prefix,
                         [&](std::string_view key, std::string_view) {
                           const std::string_view id = key.substr(prefix.size());
                           while (next < were_in.size() && were_in[next] < id)
                             emit(were_in[next++]);
                           if (!then.contains(std::string(id))) emit(id);
                           return true;
                         });
    if (!st) return Fail(st.error());
    while (next < were_in.size()) emit(were_in[next++]);
    // Changes are only ever added: the same number after the members were read means none
    // came in between.
    auto after = changes_after(nullptr);
    if (!after) return Fail(after.error());
    if (*after == *before) return page;
  }
  return Fail(Error::Unavailable("The segment kept changing while it was read; retry"));
}

}  // namespace keel
