// The segment aggregate (seed 000): a named audience defined by rules (segment_rules.h), its
// events, the validation of input and the one fold that the write side and the projector use.
// Pure; value types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "domain/error.h"
#include "domain/event.h"
#include "domain/segment_rules.h"
#include "domain/time.h"

namespace keel {

inline constexpr std::string_view kSegmentAggregate = "segment";
// {name, description, rules}: a new segment, by the actor who created it.
inline constexpr std::string_view kSegmentDefined = "SegmentDefined";
// {name, description, rules}: a new version of the definition; membership follows the rules.
inline constexpr std::string_view kSegmentRedefined = "SegmentRedefined";
// SegmentDefined, SegmentRedefined and SegmentRulesPublished v2: the rules may use seed 002's
// fields (status, customerType, birthDate, tags); v3: also the loyalty standing (level and the
// three RFM scores). Each definition is written at the least version its rules need
// (RulesSchemaVersion: v1 without any of these fields, as before), so that a build before them
// skips the event as newer instead of dead-lettering it or misreading the rules. A v1 payload
// is a v2 one, and a v2 one a v3 one (nothing to lift).
inline constexpr int kSegmentRulesVersion = 3;
// {}: archived (DELETE); it keeps its history and leaves lists, and takes no more changes.
inline constexpr std::string_view kSegmentArchived = "SegmentArchived";

inline constexpr size_t kMaxSegmentNameLength = 100;        // code points, after trimming
inline constexpr size_t kMaxSegmentDescriptionLength = 500;  // code points, after trimming
// Besides the rule language's own limits (segment_rules.h), what one definition or preview may
// hold: conditions on name, email or phone (each a pass over every customer's text when counted),
// and the size of the rules once written in canonical form (they travel in one event).
inline constexpr int kMaxTextConditions = 20;
inline constexpr size_t kMaxEncodedRulesBytes = 256 << 10;

struct Segment {
  std::string id;
  std::string name;
  std::string description;
  std::string rules_json;  // canonical (EncodeSegmentRules)
  std::string created_by;  // the actor of SegmentDefined
  Millis created_at = 0;
  Millis updated_at = 0;
  int64_t version = 0;  // 0: does not exist
  bool archived = false;

  bool operator==(const Segment&) const = default;
};

// A definition as a command carries it (POST and PUT take the same body).
struct SegmentInput {
  std::string name;
  std::string description;
  RuleNode rules;
};

// Validates a request body {name (1–100), description (≤ 500, optional), rules,
// logicalOperator (seed 004, optional)}: trims name and description, rejects unknown fields by
// name, and lists every violation with its path (kInvalidArgument).
Result<SegmentInput> ParseSegmentInput(std::string_view body);
// The rules of a preview body {rules, logicalOperator?, message?} (seed 004's
// check-audience-size also sends the campaign's message, which a preview ignores).
Result<RuleNode> ParsePreviewInput(std::string_view body);

// The payload of SegmentDefined and SegmentRedefined.
std::string EncodeSegmentDefinition(const SegmentInput& input);

// The fold. kDataLoss when the payload is bad or the version does not follow.
Status ApplySegmentEvent(Segment& segment, const EventEnvelope& event);

// As served: {id, name, description, rules, status ("active" | "archived"), createdBy,
// createdAt, updatedAt, version}. The API adds the live audienceSize.
std::string SegmentToJson(const Segment& segment);
// Reads what SegmentToJson wrote; kDataLoss when it does not hold a segment.
Result<Segment> SegmentFromJson(std::string_view json);

}  // namespace keel
