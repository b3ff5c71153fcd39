#include "projections/audience/audience_columns.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "domain/text.h"

namespace keel {
namespace {

using Word = uint64_t;
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
// A time the customer lacks. No instant Keel takes equals it (years 1 to 9999: domain/time.h),
// and every interval a query selects on a time column starts above it.
constexpr int64_t kNoTime = kMin;
constexpr int64_t kDayMillis = 86'400'000;
constexpr uint32_t kNoRow = std::numeric_limits<uint32_t>::max();

// FoldCase, with ASCII text (most names, emails and phones) lowered directly: folding leaves
// any other ASCII byte as it is, and a load folds three texts per customer.
std::string Fold(std::string_view text) {
  const bool ascii = std::all_of(text.begin(), text.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  return ascii ? AsciiLower(text) : FoldCase(text);
}

// A row's record in the arena: a flags byte; the id (a canonical UUID packed in 16 bytes, any
// other id as a varint length and its bytes); then the folded name, email and (with kHasPhone)
// phone, each a varint length and its bytes.
constexpr uint8_t kPackedId = 1;
constexpr uint8_t kHasPhone = 2;

enum class TextField : uint8_t { kName, kEmail, kPhone };

void PutVarint(std::string& out, size_t n) {
  while (n >= 0x80) {
    out.push_back(static_cast<char>(n | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

const char* GetVarint(const char* p, size_t& n) {
  n = 0;
  for (int shift = 0;; shift += 7) {
    const auto b = static_cast<uint8_t>(*p++);
    n |= static_cast<size_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return p;
  }
}

constexpr bool IsUuidDash(size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }
constexpr char kHexDigits[] = "0123456789abcdef";

// Lowercase hex only, so that the packed id unpacks to the same text.
bool PackUuid(std::string_view id, char* out) {
  if (id.size() != 36) return false;
  size_t k = 0;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    if (IsUuidDash(i)) {
      if (c != '-') return false;
      continue;
    }
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    if (k % 2 == 0) {
      out[k / 2] = static_cast<char>(d << 4);
    } else {
      out[k / 2] = static_cast<char>(static_cast<uint8_t>(out[k / 2]) | d);
    }
    ++k;
  }
  return true;
}

std::string UnpackUuid(const char* p) {
  std::string out;
  out.reserve(36);
  size_t k = 0;
  for (size_t i = 0; i < 36; ++i) {
    if (IsUuidDash(i)) {
      out.push_back('-');
      continue;
    }
    const auto b = static_cast<uint8_t>(p[k / 2]);
    out.push_back(kHexDigits[k % 2 == 0 ? b >> 4 : b & 15]);
    ++k;
  }
  return out;
}

// The id's bytes as the record holds them (what the id → row table hashes).
std::string_view IdKey(const char* record) {
  if (static_cast<uint8_t>(record[0]) & kPackedId) return {record + 1, 16};
  size_t n;
  const char* p = GetVarint(record + 1, n);
  return {record + 1, static_cast<size_t>(p - (record + 1)) + n};
}

bool SameId(const char* a, const char* b) {
  return ((static_cast<uint8_t>(a[0]) ^ static_cast<uint8_t>(b[0])) & kPackedId) == 0 &&
         IdKey(a) == IdKey(b);
}

std::string IdOf(const char* record) {
  if (static_cast<uint8_t>(record[0]) & kPackedId) return UnpackUuid(record + 1);
  size_t n;
  const char* p = GetVarint(record + 1, n);
  return std::string(p, n);
}

// The text field of a record; false for a phone the customer lacks.
bool TextOf(const char* record, TextField field, std::string_view& out) {
  if (field == TextField::kPhone && !(static_cast<uint8_t>(record[0]) & kHasPhone)) return false;
  const std::string_view id = IdKey(record);
  const char* p = id.data() + id.size();
  for (int i = 0;; ++i) {
    size_t n;
    p = GetVarint(p, n);
    if (i == static_cast<int>(field)) {
      out = {p, n};
      return true;
    }
    p += n;
  }
}

size_t RecordLength(const char* record) {
  const std::string_view id = IdKey(record);
  const char* p = id.data() + id.size();
  const int fields = static_cast<uint8_t>(record[0]) & kHasPhone ? 3 : 2;
  for (int i = 0; i < fields; ++i) {
    size_t n;
    p = GetVarint(p, n);
    p += n;
  }
  return static_cast<size_t>(p - record);
}

void EncodeRecord(const Customer& c, std::string& out) {
  out.clear();
  char packed[16];
  const bool is_packed = PackUuid(c.id, packed);
  out.push_back(static_cast<char>((is_packed ? kPackedId : 0) | (c.phone ? kHasPhone : 0)));
  if (is_packed) {
    out.append(packed, sizeof packed);
  } else {
    PutVarint(out, c.id.size());
    out += c.id;
  }
  auto text = [&](std::string_view value) {
    const std::string folded = Fold(value);
    PutVarint(out, folded.size());
    out += folded;
  };
  text(c.name);
  text(c.email);
  if (c.phone) text(*c.phone);
}

void SetBit(std::vector<Word>& bits, size_t row, bool on) {
  const Word mask = Word{1} << (row % 64);
  if (on) {
    bits[row / 64] |= mask;
  } else {
    bits[row / 64] &= ~mask;
  }
}

template <typename T>
size_t CapacityBytes(const std::vector<T>& v) {
  return v.capacity() * sizeof(T);
}

}  // namespace

namespace audience_internal {

struct Columns {
  size_t rows = 0;
  // The figures as served (TotalSpendingCents, AverageOrderCents, TotalVisits, order_count).
  std::vector<int64_t> total_spending, average_order, visits, order_count;
  // Millis, kNoTime when the customer has none.
  std::vector<int64_t> last_visit, last_order_at, first_order_at, created_at;
  std::vector<uint32_t> owner;             // 0: none; else 1 + the owner's index in owners
  std::vector<Word> is_active, has_phone;  // a bit per row
  std::vector<uint32_t> record;            // the offset of the row's record in arena
  std::string arena;
  size_t garbage = 0;  // arena bytes of records rewritten elsewhere since
  std::vector<std::string> owners;
  std::unordered_map<std::string, uint32_t> owner_codes;
  // id → row: open addressing with linear probing over a table of any size (the slot of a hash
  // is hash × size / 2^64). A slot holds row + 1 (0: empty), its tag 8 bits of the id's hash so
  // that most probes never read the arena.
  std::vector<uint32_t> slots;
  std::vector<uint8_t> tags;
  std::string scratch;  // the record being written

  const char* RecordAt(size_t row) const { return arena.data() + record[row]; }
  std::string IdAt(size_t row) const { return IdOf(RecordAt(row)); }

  static uint64_t HashOf(const char* rec) { return std::hash<std::string_view>{}(IdKey(rec)); }
  size_t SlotOf(uint64_t hash) const {
    return static_cast<size_t>((static_cast<unsigned __int128>(hash) * slots.size()) >> 64);
  }
  size_t Next(size_t slot) const { return slot + 1 == slots.size() ? 0 : slot + 1; }

  uint32_t Find(uint64_t hash, const char* rec) const {
    if (slots.empty()) return kNoRow;
    const auto tag = static_cast<uint8_t>(hash);
    for (size_t i = SlotOf(hash);; i = Next(i)) {
      const uint32_t s = slots[i];
      if (s == 0) return kNoRow;
      if (tags[i] == tag && SameId(RecordAt(s - 1), rec)) return s - 1;
    }
  }

  void Place(uint64_t hash, uint32_t row) {
    size_t i = SlotOf(hash);
    while (slots[i] != 0) i = Next(i);
    slots[i] = row + 1;
    tags[i] = static_cast<uint8_t>(hash);
  }

  // The row just appended enters the table; past 80% full, the table is rebuilt at 50%.
  void Index(uint64_t hash, uint32_t row) {
    if (rows * 5 > slots.size() * 4) {
      std::vector<uint32_t>(std::max<size_t>(64, rows * 2)).swap(slots);
      std::vector<uint8_t>(slots.size()).swap(tags);
      for (size_t r = 0; r < rows; ++r) Place(HashOf(RecordAt(r)), static_cast<uint32_t>(r));
      return;
    }
    Place(hash, row);
  }

  uint32_t OwnerCode(const std::optional<std::string>& id) {
    if (!id) return 0;
    auto [it, inserted] = owner_codes.try_emplace(*id, static_cast<uint32_t>(owners.size() + 1));
    if (inserted) owners.push_back(*id);
    return it->second;
  }

  // False when the arena's offsets cannot reach the record (4 GiB).
  bool Upsert(const Customer& c) {
    EncodeRecord(c, scratch);
    const uint64_t hash = HashOf(scratch.data());
    uint32_t row = Find(hash, scratch.data());
    const uint32_t owner_code = OwnerCode(c.owner_id);
    if (row == kNoRow) {
      if (arena.size() + scratch.size() > std::numeric_limits<uint32_t>::max() ||
          rows + 1 >= kNoRow) {
        return false;
      }
      row = static_cast<uint32_t>(rows++);
      total_spending.push_back(0);
      average_order.push_back(0);
      visits.push_back(0);
      order_count.push_back(0);
      last_visit.push_back(0);
      last_order_at.push_back(0);
      first_order_at.push_back(0);
      created_at.push_back(0);
      owner.push_back(0);
      if (row % 64 == 0) {
        is_active.push_back(0);
        has_phone.push_back(0);
      }
      record.push_back(static_cast<uint32_t>(arena.size()));
      arena += scratch;
      Index(hash, row);
    } else if (!Rewrite(row)) {
      return false;
    }
    total_spending[row] = TotalSpendingCents(c);
    average_order[row] = AverageOrderCents(c);
    visits[row] = TotalVisits(c);
    order_count[row] = c.stats.order_count;
    last_visit[row] = LastVisit(c).value_or(kNoTime);
    last_order_at[row] = c.stats.last_order_at.value_or(kNoTime);
    first_order_at[row] = c.stats.first_order_at.value_or(kNoTime);
    created_at[row] = c.created_at;
    owner[row] = owner_code;
    SetBit(is_active, row, c.is_active);
    SetBit(has_phone, row, c.phone.has_value());
    return true;
  }

  // The row's record becomes scratch: in place when it fits (an order changes no text, so most
  // updates write nothing), else at the end of the arena.
  bool Rewrite(uint32_t row) {
    char* old = arena.data() + record[row];
    const size_t old_length = RecordLength(old);
    if (scratch.size() <= old_length) {
      if (std::memcmp(old, scratch.data(), scratch.size()) != 0) {
        std::memcpy(old, scratch.data(), scratch.size());
      }
      garbage += old_length - scratch.size();
    } else {
      if (arena.size() + scratch.size() > std::numeric_limits<uint32_t>::max()) return false;
      record[row] = static_cast<uint32_t>(arena.size());
      arena += scratch;
      garbage += old_length;
    }
    if (garbage > (1 << 20) && garbage > arena.size() / 2) Compact();
    return true;
  }

  void Compact() {
    std::string packed;
    packed.reserve(arena.size() - garbage);
    for (size_t r = 0; r < rows; ++r) {
      const char* rec = RecordAt(r);
      record[r] = static_cast<uint32_t>(packed.size());
      packed.append(rec, RecordLength(rec));
    }
    arena.swap(packed);
    garbage = 0;
  }

  size_t MemoryBytes() const {
    size_t bytes = sizeof(*this) + CapacityBytes(total_spending) + CapacityBytes(average_order) +
                   CapacityBytes(visits) + CapacityBytes(order_count) + CapacityBytes(last_visit) +
                   CapacityBytes(last_order_at) + CapacityBytes(first_order_at) +
                   CapacityBytes(created_at) + CapacityBytes(owner) + CapacityBytes(is_active) +
                   CapacityBytes(has_phone) + CapacityBytes(record) + arena.capacity() +
                   CapacityBytes(slots) + CapacityBytes(tags) + CapacityBytes(owners) +
                   owner_codes.bucket_count() * sizeof(void*) + scratch.capacity();
    // Each owner id twice (the list and the map's node), and the node.
    for (const std::string& id : owners) bytes += 2 * id.capacity() + sizeof(std::string) + 32;
    return bytes;
  }
};

}  // namespace audience_internal

namespace {

using audience_internal::Columns;

// What a rule tree is evaluated as: a tree of the same shape whose leaves name the columns and
// hold the constants the query compares them with, computed once.
struct Plan {
  enum class Kind : uint8_t {
    kAnd,
    kOr,
    kNot,
    kNone,           // no row
    kAll,            // every row
    kRange,          // values[row] in [lo, hi]
    kSet,            // values[row] in set
    kActivityRange,  // the row's activity time (see ActivityAt) in [lo, hi]
    kActivitySet,    // the row's inactive days in set
    kBits,           // bits[row]
    kOwner,          // owner_match[owner code of row]
    kText,           // text_op on the row's folded text field
  };
  Kind kind = Kind::kNone;
  // A leaf selects the complement of what its kind says (a missing value included).
  bool negate = false;
  int cost = 0;  // AND and OR evaluate their cheaper children first
  std::vector<Plan> children;
  const int64_t* values = nullptr;
  int64_t lo = 1, hi = 0;
  std::vector<int64_t> set;  // sorted, distinct
  const Word* bits = nullptr;
  std::vector<uint8_t> owner_match;
  TextField text_field = TextField::kName;
  RuleOp text_op = RuleOp::kEq;
  std::vector<std::string> patterns;  // folded; sorted and distinct for kIn
};

struct Interval {
  int64_t lo, hi;  // both included; empty when lo > hi
};
constexpr Interval kEmpty{1, 0};

Interval Clamped(__int128 lo, __int128 hi) {
  lo = std::max<__int128>(lo, kMin);
  hi = std::min<__int128>(hi, kMax);
  if (lo > hi) return kEmpty;
  return {static_cast<int64_t>(lo), static_cast<int64_t>(hi)};
}

// The rows whose inactive days (floor((now − from) / 1 day), 0 when from ≥ now) are in
// `days`, as an interval of `from`. Inactive days of at least N ≥ 1 is from ≤ now − N days; of
// at least N ≤ 0, any from.
Interval ActivityInterval(Interval days, Millis now) {
  if (days.lo > days.hi) return kEmpty;
  auto at_least = [&](__int128 n) -> __int128 {  // the latest `from` with days ≥ n
    if (n <= 0) return kMax;
    return static_cast<__int128>(now) - n * kDayMillis;
  };
  return Clamped(at_least(static_cast<__int128>(days.hi) + 1) + 1, at_least(days.lo));
}

int64_t InactiveDays(int64_t from, Millis now) {
  if (now <= from) return 0;
  return static_cast<int64_t>((static_cast<uint64_t>(now) - static_cast<uint64_t>(from)) /
                              static_cast<uint64_t>(kDayMillis));
}

bool ExactTextMatches(RuleOp op, std::string_view value, const std::vector<std::string>& texts) {
  const std::string_view first = texts.empty() ? std::string_view() : texts.front();
  auto any_equal = [&] { return std::find(texts.begin(), texts.end(), value) != texts.end(); };
  switch (op) {
    case RuleOp::kEq:
      return value == first;
    case RuleOp::kNe:
      return value != first;
    case RuleOp::kContains:
      return value.find(first) != std::string_view::npos;
    case RuleOp::kStartsWith:
      return value.starts_with(first);
    case RuleOp::kEndsWith:
      return value.ends_with(first);
    case RuleOp::kIn:
      return any_equal();
    case RuleOp::kNotIn:
      return !any_equal();
    case RuleOp::kIsNotEmpty:
      return true;
    default:
      return false;
  }
}

class Planner {
 public:
  Planner(const Columns& columns, Millis now) : c_(columns), now_(now) {}

  Plan Of(const RuleNode& node) const {
    Plan p;
    switch (node.kind) {
      case RuleNode::Kind::kAnd:
      case RuleNode::Kind::kOr: {
        const bool is_and = node.kind == RuleNode::Kind::kAnd;
        if (node.children.empty()) {
          p.kind = is_and ? Plan::Kind::kAll : Plan::Kind::kNone;
          return p;
        }
        p.kind = is_and ? Plan::Kind::kAnd : Plan::Kind::kOr;
        for (const RuleNode& child : node.children) {
          p.children.push_back(Of(child));
          p.cost += p.children.back().cost;
        }
        std::stable_sort(p.children.begin(), p.children.end(),
                         [](const Plan& a, const Plan& b) { return a.cost < b.cost; });
        return p;
      }
      case RuleNode::Kind::kNot:
        if (node.children.empty()) return p;  // kNone, as EvaluateRules has it
        p.kind = Plan::Kind::kNot;
        p.children.push_back(Of(node.children.front()));
        p.cost = p.children.back().cost + 1;
        return p;
      case RuleNode::Kind::kCondition:
        return Leaf(node.condition);
    }
    return p;
  }

 private:
  static int64_t Operand(const RuleCondition& c, size_t i) {
    return i < c.numbers.size() ? c.numbers[i] : 0;
  }

  Plan Leaf(const RuleCondition& c) const {
    switch (c.field) {
      case RuleField::kTotalSpending:
        return Number(c, c_.total_spending.data(), false);
      case RuleField::kAverageOrderValue:
        return Number(c, c_.average_order.data(), false);
      case RuleField::kVisits:
        return Number(c, c_.visits.data(), false);
      case RuleField::kOrderCount:
        return Number(c, c_.order_count.data(), false);
      case RuleField::kInactiveDays:
        return Number(c, nullptr, false);
      case RuleField::kLastVisit:
        return Number(c, c_.last_visit.data(), true);
      case RuleField::kLastOrderAt:
        return Number(c, c_.last_order_at.data(), true);
      case RuleField::kFirstOrderAt:
        return Number(c, c_.first_order_at.data(), true);
      case RuleField::kCreatedAt:
        return Number(c, c_.created_at.data(), false);
      case RuleField::kName:
        return Text(c, TextField::kName);
      case RuleField::kEmail:
        return Text(c, TextField::kEmail);
      case RuleField::kPhone:
        return Text(c, TextField::kPhone);
      case RuleField::kOwnerId:
        return Owner(c);
      case RuleField::kIsActive:
        return Active(c);
    }
    return Plan{};
  }

  static Plan Constant(bool all) {
    Plan p;
    p.kind = all ? Plan::Kind::kAll : Plan::Kind::kNone;
    return p;
  }

  // `values`: null for inactive days (derived from the activity time); `optional`: whether
  // the column holds kNoTime for customers without a value.
  Plan Number(const RuleCondition& c, const int64_t* values, bool optional) const {
    const int64_t a = Operand(c, 0);
    Interval selected = kEmpty;
    bool negate = false;
    switch (c.op) {
      case RuleOp::kGt:
        selected = a == kMax ? kEmpty : Interval{a + 1, kMax};
        break;
      case RuleOp::kGe:
        selected = {a, kMax};
        break;
      case RuleOp::kLt:
        selected = a == kMin ? kEmpty : Interval{kMin, a - 1};
        break;
      case RuleOp::kLe:
        selected = {kMin, a};
        break;
      case RuleOp::kEq:
        selected = {a, a};
        break;
      case RuleOp::kNe:
        selected = {a, a};
        negate = true;
        break;
      case RuleOp::kBetween:
        selected = {a, Operand(c, 1)};
        break;
      case RuleOp::kInLastDays:
      case RuleOp::kNotInLastDays:
        // At or after now − N days; computed wide, so that no operand overflows.
        selected =
            Clamped(static_cast<__int128>(now_) - static_cast<__int128>(a) * kDayMillis, kMax);
        negate = c.op == RuleOp::kNotInLastDays;
        break;
      case RuleOp::kIn:
      case RuleOp::kNotIn:
        return Set(c.numbers, values, optional, c.op == RuleOp::kNotIn);
      case RuleOp::kIsEmpty:
      case RuleOp::kIsNotEmpty:
        if (!optional) return Constant(c.op == RuleOp::kIsNotEmpty);
        selected = {kMin, kMax};
        negate = c.op == RuleOp::kIsEmpty;
        break;
      default:
        return Constant(false);
    }
    return Range(selected, values, optional, negate);
  }

  Plan Range(Interval selected, const int64_t* values, bool optional, bool negate) const {
    Plan p;
    p.negate = negate;
    if (optional && selected.lo == kMin) {
      if (selected.hi == kMin)
        selected = kEmpty;
      else
        selected.lo = kMin + 1;  // never the missing value's sentinel
    }
    if (values) {
      p.kind = Plan::Kind::kRange;
      p.values = values;
      p.cost = 2;
    } else {
      selected = ActivityInterval(selected, now_);
      p.kind = Plan::Kind::kActivityRange;
      p.cost = 4;
    }
    if (selected.lo > selected.hi) {
      p.kind = Plan::Kind::kNone;
      p.cost = 0;
    }
    p.lo = selected.lo;
    p.hi = selected.hi;
    return p;
  }

  Plan Set(std::vector<int64_t> set, const int64_t* values, bool optional, bool negate) const {
    std::sort(set.begin(), set.end());
    set.erase(std::unique(set.begin(), set.end()), set.end());
    if (optional && !set.empty() && set.front() == kNoTime) set.erase(set.begin());
    if (set.empty()) {
      Plan p = Constant(false);
      p.negate = negate;
      return p;
    }
    if (set.size() == 1) return Range({set[0], set[0]}, values, optional, negate);
    Plan p;
    p.negate = negate;
    p.kind = values ? Plan::Kind::kSet : Plan::Kind::kActivitySet;
    p.values = values;
    p.cost = values ? (set.size() <= 8 ? 4 : 8) : 12;
    p.set = std::move(set);
    return p;
  }

  Plan Text(const RuleCondition& c, TextField field) const {
    const bool optional = field == TextField::kPhone;
    Plan p;
    switch (c.op) {
      case RuleOp::kEq:
      case RuleOp::kNe:
      case RuleOp::kContains:
      case RuleOp::kStartsWith:
      case RuleOp::kEndsWith:
        p.text_op = c.op == RuleOp::kNe ? RuleOp::kEq : c.op;
        p.negate = c.op == RuleOp::kNe;
        p.patterns.push_back(Fold(c.texts.empty() ? std::string_view() : c.texts.front()));
        break;
      case RuleOp::kIn:
      case RuleOp::kNotIn:
        p.text_op = RuleOp::kIn;
        p.negate = c.op == RuleOp::kNotIn;
        for (const std::string& text : c.texts) p.patterns.push_back(Fold(text));
        std::sort(p.patterns.begin(), p.patterns.end());
        p.patterns.erase(std::unique(p.patterns.begin(), p.patterns.end()), p.patterns.end());
        if (p.patterns.empty()) {
          Plan none = Constant(false);
          none.negate = p.negate;
          return none;
        }
        break;
      case RuleOp::kIsEmpty:
      case RuleOp::kIsNotEmpty:
        if (!optional) return Constant(c.op == RuleOp::kIsNotEmpty);
        p.kind = Plan::Kind::kBits;
        p.bits = c_.has_phone.data();
        p.negate = c.op == RuleOp::kIsEmpty;
        p.cost = 1;
        return p;
      default:
        return Constant(false);
    }
    p.kind = Plan::Kind::kText;
    p.text_field = field;
    p.cost = 64;
    return p;
  }

  // Owner ids compare exactly: each distinct owner is evaluated once.
  Plan Owner(const RuleCondition& c) const {
    Plan p;
    p.kind = Plan::Kind::kOwner;
    p.cost = 3;
    p.owner_match.resize(c_.owners.size() + 1);
    p.owner_match[0] =
        c.op == RuleOp::kIsEmpty || c.op == RuleOp::kNe || c.op == RuleOp::kNotIn ? 1 : 0;
    for (size_t i = 0; i < c_.owners.size(); ++i) {
      p.owner_match[i + 1] = ExactTextMatches(c.op, c_.owners[i], c.texts) ? 1 : 0;
    }
    return p;
  }

  Plan Active(const RuleCondition& c) const {
    if (c.op != RuleOp::kEq && c.op != RuleOp::kNe) return Constant(false);
    Plan p;
    p.kind = Plan::Kind::kBits;
    p.bits = c_.is_active.data();
    p.negate = (c.op == RuleOp::kEq) != c.flag;
    p.cost = 1;
    return p;
  }

  const Columns& c_;
  const Millis now_;
};

bool NoneSet(const std::vector<Word>& bits) {
  return std::all_of(bits.begin(), bits.end(), [](Word w) { return w == 0; });
}

// Evaluates a plan over the rows of words [w0, w1): out[i] holds the rows of word w0 + i that
// are among the candidates `cand` and match.
class Evaluator {
 public:
  Evaluator(const Columns& columns, Millis now, size_t w0, size_t w1)
      : c_(columns), now_(now), w0_(w0), n_(w1 - w0) {}

  void Run(const Plan& p, const Word* cand, Word* out) const {
    switch (p.kind) {
      case Plan::Kind::kAnd: {
        std::vector<Word> acc(cand, cand + n_), next(n_);
        for (const Plan& child : p.children) {
          Run(child, acc.data(), next.data());
          acc.swap(next);
          if (NoneSet(acc)) break;
        }
        std::copy(acc.begin(), acc.end(), out);
        return;
      }
      case Plan::Kind::kOr: {
        std::vector<Word> rest(cand, cand + n_), found(n_);
        std::fill(out, out + n_, 0);
        for (const Plan& child : p.children) {
          Run(child, rest.data(), found.data());
          for (size_t i = 0; i < n_; ++i) {
            out[i] |= found[i];
            rest[i] &= ~found[i];
          }
          if (NoneSet(rest)) break;
        }
        return;
      }
      case Plan::Kind::kNot: {
        std::vector<Word> inner(n_);
        Run(p.children.front(), cand, inner.data());
        for (size_t i = 0; i < n_; ++i) out[i] = cand[i] & ~inner[i];
        return;
      }
      case Plan::Kind::kNone:
      case Plan::Kind::kAll: {
        const bool all = (p.kind == Plan::Kind::kAll) != p.negate;
        for (size_t i = 0; i < n_; ++i) out[i] = all ? cand[i] : 0;
        return;
      }
      case Plan::Kind::kBits: {
        const Word* bits = p.bits + w0_;
        for (size_t i = 0; i < n_; ++i) out[i] = cand[i] & (p.negate ? ~bits[i] : bits[i]);
        return;
      }
      case Plan::Kind::kRange: {
        // lo ≤ v ≤ hi as one unsigned comparison: v − lo ≤ hi − lo, modulo 2^64.
        const int64_t* v = p.values;
        const auto lo = static_cast<uint64_t>(p.lo);
        const uint64_t span = static_cast<uint64_t>(p.hi) - lo;
        Scan(cand, p.negate, out,
             [=](size_t r) { return static_cast<uint64_t>(v[r]) - lo <= span; });
        return;
      }
      case Plan::Kind::kSet: {
        const int64_t* v = p.values;
        const std::vector<int64_t>& set = p.set;
        if (set.size() <= 8) {
          Scan(cand, p.negate, out, [&](size_t r) {
            bool any = false;
            for (int64_t s : set) any |= v[r] == s;
            return any;
          });
        } else {
          Probe(cand, p.negate, out,
                [&](size_t r) { return std::binary_search(set.begin(), set.end(), v[r]); });
        }
        return;
      }
      case Plan::Kind::kActivityRange: {
        const auto lo = static_cast<uint64_t>(p.lo);
        const uint64_t span = static_cast<uint64_t>(p.hi) - lo;
        Scan(cand, p.negate, out,
             [&](size_t r) { return static_cast<uint64_t>(ActivityAt(r)) - lo <= span; });
        return;
      }
      case Plan::Kind::kActivitySet:
        Probe(cand, p.negate, out, [&](size_t r) {
          return std::binary_search(p.set.begin(), p.set.end(), InactiveDays(ActivityAt(r), now_));
        });
        return;
      case Plan::Kind::kOwner: {
        const uint32_t* owner = c_.owner.data();
        const uint8_t* match = p.owner_match.data();
        Scan(cand, p.negate, out, [=](size_t r) { return match[owner[r]] != 0; });
        return;
      }
      case Plan::Kind::kText:
        RunText(p, cand, out);
        return;
    }
  }

 private:
  // The latest of the last order and the last visit, else the creation (what inactive days
  // count from). kNoTime is below every time, so the larger of the two is the latest present.
  int64_t ActivityAt(size_t r) const {
    const int64_t latest = std::max(c_.last_order_at[r], c_.last_visit[r]);
    return latest == kNoTime ? c_.created_at[r] : latest;
  }

  // Every row of a word with a candidate is tested (a tight loop over the column).
  template <typename Test>
  void Scan(const Word* cand, bool negate, Word* out, Test test) const {
    for (size_t i = 0; i < n_; ++i) {
      const Word c = cand[i];
      if (c == 0) {
        out[i] = 0;
        continue;
      }
      const size_t base = (w0_ + i) * 64;
      const size_t count = std::min<size_t>(64, c_.rows - base);
      Word bits = 0;
      if (count == 64) {
        for (unsigned j = 0; j < 64; ++j) bits |= static_cast<Word>(test(base + j)) << j;
      } else {
        for (unsigned j = 0; j < count; ++j) bits |= static_cast<Word>(test(base + j)) << j;
      }
      out[i] = c & (negate ? ~bits : bits);
    }
  }

  // Only the candidates are tested (for tests that cost more than a comparison).
  template <typename Test>
  void Probe(const Word* cand, bool negate, Word* out, Test test) const {
    for (size_t i = 0; i < n_; ++i) {
      const Word c = cand[i];
      const size_t base = (w0_ + i) * 64;
      Word bits = 0;
      for (Word m = c; m != 0; m &= m - 1) {
        const int j = std::countr_zero(m);
        if (test(base + static_cast<size_t>(j))) bits |= Word{1} << j;
      }
      out[i] = c & (negate ? ~bits : bits);
    }
  }

  void RunText(const Plan& p, const Word* cand, Word* out) const {
    const std::string_view first = p.patterns.front();
    const TextField field = p.text_field;
    auto with_text = [&](auto match) {
      Probe(cand, p.negate, out, [&](size_t r) {
        std::string_view value;
        return TextOf(c_.RecordAt(r), field, value) && match(value);
      });
    };
    switch (p.text_op) {
      case RuleOp::kEq:
        with_text([&](std::string_view v) { return v == first; });
        return;
      case RuleOp::kContains:
        with_text([&](std::string_view v) { return v.find(first) != std::string_view::npos; });
        return;
      case RuleOp::kStartsWith:
        with_text([&](std::string_view v) { return v.starts_with(first); });
        return;
      case RuleOp::kEndsWith:
        with_text([&](std::string_view v) { return v.ends_with(first); });
        return;
      case RuleOp::kIn:
        with_text([&](std::string_view v) {
          return std::binary_search(p.patterns.begin(), p.patterns.end(), v,
                                    [](std::string_view a, std::string_view b) { return a < b; });
        });
        return;
      default:
        Probe(cand, p.negate, out, [](size_t) { return false; });
        return;
    }
  }

  const Columns& c_;
  const Millis now_;
  const size_t w0_;
  const size_t n_;
};

}  // namespace

AudienceColumns::AudienceColumns(size_t parallel_min_rows)
    : parallel_min_rows_(parallel_min_rows) {}

AudienceColumns::~AudienceColumns() = default;

Status AudienceColumns::Load(ReadStore& store) {
  CustomerView* self = this;
  return LoadCustomerViews(store, {&self, 1});
}

void AudienceColumns::StartLoad() {
  loaded_ = std::make_unique<Columns>();
  load_overflowed_ = false;
  std::unique_lock lock(mu_);
  loading_ = true;
  pending_.clear();
}

void AudienceColumns::Loaded(const Customer& customer) {
  if (!load_overflowed_ && !loaded_->Upsert(customer)) load_overflowed_ = true;
}

void AudienceColumns::FinishLoad(const Status& scan) {
  std::unique_ptr<Columns> fresh = std::move(loaded_);
  std::unique_lock lock(mu_);
  loading_ = false;
  bool sound = scan && !load_overflowed_;
  for (const Customer& c : pending_) {
    if (!sound) break;
    sound = fresh->Upsert(c);
  }
  pending_.clear();
  pending_.shrink_to_fit();
  if (!sound) {
    broken_ = true;
    return;
  }
  rows_.swap(fresh);
  ready_ = true;
  lock.unlock();  // the columns replaced, if any, are freed without the lock
}

void AudienceColumns::Apply(const std::vector<Customer>& changed) {
  std::unique_lock lock(mu_);
  if (loading_) {
    pending_.insert(pending_.end(), changed.begin(), changed.end());
  } else if (ready_ && !broken_) {  // before any load, the store holds it and the load reads it
    for (const Customer& c : changed) {
      if (!rows_->Upsert(c)) {
        broken_ = true;
        return;
      }
    }
  }
}

std::vector<uint64_t> AudienceColumns::Evaluate(const RuleNode& rules, Millis now) const {
  const Columns& c = *rows_;
  const size_t words = (c.rows + 63) / 64;
  std::vector<Word> all(words, ~Word{0});
  if (c.rows % 64 != 0) all.back() = (Word{1} << (c.rows % 64)) - 1;
  std::vector<Word> out(words);
  const Plan plan = Planner(c, now).Of(rules);
  auto run = [&](size_t w0, size_t w1) {
    Evaluator(c, now, w0, w1).Run(plan, all.data() + w0, out.data() + w0);
  };
  if (c.rows >= parallel_min_rows_ && words >= 2) {
    const size_t mid = words / 2;
    std::jthread second(run, mid, words);
    run(0, mid);
  } else {
    run(0, words);
  }
  return out;
}

AudienceColumns::Audience AudienceColumns::Count(const RuleNode& rules, Millis now,
                                                 size_t sample_size) const {
  Audience audience;
  std::shared_lock lock(mu_);
  if (!ready()) return audience;
  const std::vector<Word> matches = Evaluate(rules, now);
  for (size_t i = 0; i < matches.size(); ++i) {
    audience.count += std::popcount(matches[i]);
    for (Word m = matches[i]; m != 0 && audience.sample.size() < sample_size; m &= m - 1) {
      audience.sample.push_back(rows_->IdAt(i * 64 + static_cast<size_t>(std::countr_zero(m))));
    }
  }
  return audience;
}

std::vector<std::string> AudienceColumns::Members(const RuleNode& rules, Millis now, size_t offset,
                                                  size_t limit, int64_t* total) const {
  std::vector<std::string> ids;
  if (total) *total = 0;
  std::shared_lock lock(mu_);
  if (!ready()) return ids;
  const std::vector<Word> matches = Evaluate(rules, now);
  size_t skip = offset;
  for (size_t i = 0; i < matches.size(); ++i) {
    const Word word = matches[i];
    const auto n = static_cast<size_t>(std::popcount(word));
    if (total) *total += static_cast<int64_t>(n);
    if (ids.size() >= limit) continue;
    if (skip >= n) {
      skip -= n;
      continue;
    }
    for (Word m = word; m != 0 && ids.size() < limit; m &= m - 1) {
      if (skip > 0) {
        --skip;
        continue;
      }
      ids.push_back(rows_->IdAt(i * 64 + static_cast<size_t>(std::countr_zero(m))));
    }
  }
  return ids;
}

size_t AudienceColumns::MemoryBytes() const {
  std::shared_lock lock(mu_);
  size_t bytes = sizeof(*this) + pending_.capacity() * sizeof(Customer);
  if (rows_) bytes += rows_->MemoryBytes();
  return bytes;
}

size_t AudienceColumns::size() const {
  std::shared_lock lock(mu_);
  return rows_ ? rows_->rows : 0;
}

}  // namespace keel
