// The segment membership read model (issue 15): which customers are in which segment, joins and
// leaves at their log positions, and a timer index of when time alone may move a customer in or
// out. Folded in the customers group, after the customers projector, from the customers it has
// just folded; segment definitions and time arrive as partition markers
// (domain/partition_markers.h) on every partition of the customers stream, so each partition is
// folded in one fixed order and a replay gives the same membership.
//
// - A customer or order event re-evaluates its customer against every segment of the partition
//   at the event's time (or the partition's clock, if later).
// - SegmentRulesPublished re-evaluates every customer of the partition against that segment.
// - ClockTicked re-evaluates only the customers whose timer is due: a customer's timer is the
//   earliest instant time alone may flip one of its segments, known from its figures
//   (SegmentMatcher::NextChange), so a tick costs what flips at it, not what the partition
//   holds. A timer may be earlier than needed (an event that only postpones the next flip keeps
//   it, to spare the writes): it then fires, finds nothing flips, and is set again.
//
// Thread-safety: as every projector (partitions folded concurrently, each by one thread).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "domain/partition_markers.h"
#include "domain/segment_match.h"
#include "domain/topics.h"
#include "projections/customers/customers_projector.h"
#include "projections/projector.h"

namespace keel {

// partition (5 digits) → the partition's times: whether it has ticked, the time timers have
// fired up to, and the latest time folded there (times of joins and leaves never go back);
// partition/segment → the rules folded there.
inline constexpr std::string_view kMembershipRulesTable = "membership_rules";
// partition/customer → "": the customers of each partition, re-evaluated when rules change.
inline constexpr std::string_view kMembershipCustomersTable = "membership_customers";
// customer → the customer's segments and timer (EncodeCustomerRecord).
inline constexpr std::string_view kCustomerSegmentsTable = "customer_segments";
// segment/customer → where and when the customer joined (EncodeJoin).
inline constexpr std::string_view kSegmentMembersTable = "segment_members";
// partition/due (OrderedTime)/customer → "": the timer index.
inline constexpr std::string_view kMembershipTimersTable = "membership_timers";
// segment/time (OrderedTime)/partition/offset (OrderedTime)/customer → "j" or "l".
inline constexpr std::string_view kSegmentHistoryTable = "segment_history";
// Members per segment, one counter per partition under this prefix + segment + "/"
// (kProjectionMetaTable).
inline constexpr std::string_view kMemberCountPrefix = "membership/count/";

// Where a change of membership was folded.
struct MembershipAt {
  int32_t partition = 0;
  int64_t offset = 0;
  Millis at = 0;

  bool operator==(const MembershipAt&) const = default;
};

// A segment a customer is in, since `joined`.
struct CustomerMembership {
  std::string segment_id;
  MembershipAt joined;

  bool operator==(const CustomerMembership&) const = default;
};

// What the read model keeps of a customer: its segments, by id, and its timer.
struct CustomerRecord {
  std::vector<CustomerMembership> segments;
  std::optional<Millis> due;

  bool operator==(const CustomerRecord&) const = default;
};

// Record codecs (kDataLoss when a record does not hold one).
std::string EncodeCustomerRecord(const CustomerRecord& record);
Result<CustomerRecord> DecodeCustomerRecord(std::string_view record);
std::string EncodeJoin(const MembershipAt& at);
Result<MembershipAt> DecodeJoin(std::string_view record);
// A time as 16 hex digits that sort as the times do, negative ones included.
std::string OrderedTime(int64_t t);
std::string PartitionPart(int32_t partition);  // 5 digits
// The key of a segment's rules as a partition folded them, and the version such a record holds.
std::string MembershipRulesKey(int32_t partition, std::string_view segment);
Result<int64_t> RulesVersionOf(std::string_view record);

class MembershipProjector final : public Projector {
 public:
  explicit MembershipProjector(CustomersProjector& customers);

  std::string_view name() const override { return "segment_membership"; }
  std::vector<std::string_view> topics() const override { return {kCustomersTopic}; }
  std::vector<std::string> tables() const override;
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) override;
  void Discard(const std::vector<int32_t>& partitions) override;
  void Unapply(int32_t partition, int64_t offset) override;

 private:
  struct Segment {
    int64_t version = 0;
    std::shared_ptr<const SegmentMatcher> matcher;  // null: archived
  };
  // What is remembered of a partition: its segments and clock as the batch leaves them.
  struct Partition {
    bool loaded = false;
    std::optional<Millis> clock;                           // timers have fired up to this time
    std::optional<Millis> stamp;                           // the latest time folded
    std::map<std::string, Segment, std::less<>> segments;  // archived ones too
    bool any_active = false;
  };
  // The writes of one Apply, with member counts summed before they are written.
  struct Changes {
    std::vector<StoreWrite>& writes;
    std::map<std::string, int64_t> count_deltas;
  };

  Partition& PartitionOf(int32_t partition);
  Status Load(StateView& view, int32_t partition, Partition& part);
  // Moves the partition's time to `at` unless it is past it already; returns the time.
  Millis Advance(int32_t partition, Partition& part, Millis at, Changes& changes);
  void WriteTimes(int32_t partition, const Partition& part, Changes& changes);
  Status OnRules(const EventEnvelope& event, const EventPosition& position, StateView& view,
                 Partition& part, Changes& changes);
  Status OnTick(const EventEnvelope& event, const EventPosition& position, StateView& view,
                Partition& part, Changes& changes);
  // Re-evaluates `customer` at `now` against the partition's segments (`only`: that one
  // alone), recording joins and leaves at `where`.
  Status Reevaluate(const Partition& part, const Customer& customer, Millis now,
                    const std::string* only, const MembershipAt& where, StateView& view,
                    Changes& changes);
  Status WriteCounts(StateView& view, int32_t partition, Changes& changes);

  CustomersProjector& customers_;
  std::mutex mu_;
  std::unordered_map<int32_t, std::unique_ptr<Partition>> partitions_;  // guarded by mu_
};

}  // namespace keel
