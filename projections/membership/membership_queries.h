// Reads of the segment membership read model (membership_projector.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/error.h"
#include "domain/time.h"
#include "infra/read_store.h"
#include "projections/membership/membership_projector.h"

namespace keel {

struct SegmentMember {
  std::string customer_id;
  MembershipAt joined;
};

// Members of `segment`, by customer id, those after `after` (empty: from the first), at most
// `limit`.
Result<std::vector<SegmentMember>> QuerySegmentMembers(ReadStore& store, std::string_view segment,
                                                       std::string_view after, size_t limit);
// How many members `segment` has, summed over the partitions.
Result<int64_t> QueryMemberCount(ReadStore& store, std::string_view segment);
// The segments `customer` is a member of, with when each was joined.
Result<std::vector<CustomerMembership>> QueryCustomerMemberships(ReadStore& store,
                                                                 std::string_view customer);
// The version of `segment`'s rules each of the `partitions` has folded (0: none).
Result<std::vector<int64_t>> QueryFoldedVersions(ReadStore& store, std::string_view segment,
                                                 int32_t partitions);

struct MembershipChange {
  std::string customer_id;
  bool joined = false;  // false: left
  MembershipAt at;
};
// The joins and leaves of `segment` recorded at times in [from, to], oldest first, at most
// `limit`, starting after the change whose history key is `after` (empty: from the first);
// `next` is set to the key to continue after when more remain.
Result<std::vector<MembershipChange>> QuerySegmentHistory(ReadStore& store,
                                                          std::string_view segment, Millis from,
                                                          Millis to, size_t limit,
                                                          std::string_view after,
                                                          std::string* next);

// Who was a member of `segment` once everything recorded up to `at` was folded (its members now,
// with the changes after `at` undone), by customer id: how many, and those from `offset` on, at
// most `limit`. Streams the members; holds only the changes after `at`: kInvalidArgument when
// more than `max_changes` follow it. kUnavailable when the segment kept changing while it was
// read (each answer is checked against a second look at the changes).
struct MembersAt {
  int64_t total = 0;
  std::vector<std::string> ids;
};
Result<MembersAt> QueryMembersAt(ReadStore& store, std::string_view segment, Millis at,
                                 size_t max_changes, size_t offset, size_t limit);

}  // namespace keel
