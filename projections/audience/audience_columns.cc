#include "projections/audience/audience_columns.h"

#include <algorithm>
#include <array>
#include <bit>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
// Texts handed to PaddedContains are followed by at least this many readable bytes.
constexpr size_t kTextPadding = 64;
// A level's code in its column: 1 + its rank (0: never scored).
constexpr int kLevelCodeOffset = 1;

// FoldCase into `out`, with ASCII text (most names, emails and phones) lowered directly: folding
// leaves any other ASCII byte as it is, and a load folds three texts per customer.
void FoldInto(std::string_view text, std::string& out) {
  const bool ascii = std::all_of(text.begin(), text.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (!ascii) {
    out = FoldCase(text);
    return;
  }
  out.resize(text.size());
  std::transform(text.begin(), text.end(), out.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
}

std::string Fold(std::string_view text) {
  std::string out;
  FoldInto(text, out);
  return out;
}

// Maps keyed by text that a string_view looks up without a copy.
struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};
template <typename V>
using TextMap = std::unordered_map<std::string, V, TextHash, std::equal_to<>>;

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

using Uuid = std::array<char, 16>;

constexpr bool IsUuidDash(size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }
constexpr char kHexDigits[] = "0123456789abcdef";

// Lowercase hex only, so that the packed id unpacks to the same text.
bool PackUuid(std::string_view id, Uuid& out) {
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

std::string UnpackUuid(const Uuid& packed) {
  std::string out;
  out.reserve(36);
  size_t k = 0;
  for (size_t i = 0; i < 36; ++i) {
    if (IsUuidDash(i)) {
      out.push_back('-');
      continue;
    }
    const auto b = static_cast<uint8_t>(packed[k / 2]);
    out.push_back(kHexDigits[k % 2 == 0 ? b >> 4 : b & 15]);
    ++k;
  }
  return out;
}

bool BitAt(const std::vector<Word>& bits, size_t row) { return (bits[row / 64] >> (row % 64)) & 1; }

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

// After a load reserved for more customers than it found.
template <typename T>
void ShrinkIfLoose(std::vector<T>& v) {
  if (v.capacity() - v.size() > v.size() / 8 + 64) v.shrink_to_fit();
}

// A figure column: int32 while every value fits (most customers' spending in cents and counts
// do), int64 from the first value that does not.
class NumberColumn {
 public:
  void Push(int64_t v) {
    if (!wide_ && !Fits(v)) Widen();
    if (wide_) {
      wide_values_.push_back(v);
    } else {
      narrow_.push_back(static_cast<int32_t>(v));
    }
  }
  void Set(size_t row, int64_t v) {
    if (!wide_ && !Fits(v)) Widen();
    if (wide_) {
      wide_values_[row] = v;
    } else {
      narrow_[row] = static_cast<int32_t>(v);
    }
  }
  // One of the two is null.
  const int32_t* narrow() const { return wide_ ? nullptr : narrow_.data(); }
  const int64_t* wide() const { return wide_ ? wide_values_.data() : nullptr; }
  size_t MemoryBytes() const { return CapacityBytes(narrow_) + CapacityBytes(wide_values_); }
  void Reserve(size_t rows) { wide_ ? wide_values_.reserve(rows) : narrow_.reserve(rows); }
  void ShrinkToFit() {
    ShrinkIfLoose(narrow_);
    ShrinkIfLoose(wide_values_);
  }

 private:
  static bool Fits(int64_t v) {
    return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
  }
  void Widen() {
    wide_values_.assign(narrow_.begin(), narrow_.end());
    std::vector<int32_t>().swap(narrow_);
    wide_ = true;
  }

  bool wide_ = false;
  std::vector<int32_t> narrow_;
  std::vector<int64_t> wide_values_;
};

// Bytes in chunks that never move: growing copies nothing and frees nothing (a string that
// doubles leaves its old copies to the allocator: tens of MB over a load of a million
// customers). Chunks hold up to 1 MiB (the first ones less: 4 KiB, then twice the one before);
// an entry lies within one chunk, addressed by a 32-bit offset (chunk × 1 MiB + position): 4 GiB
// in all. Each chunk is followed by kTextPadding bytes (for PaddedContains).
class Arena {
 public:
  static constexpr uint32_t kChunkBits = 20;
  static constexpr uint32_t kChunkBytes = uint32_t{1} << kChunkBits;
  static constexpr size_t kMaxChunks = size_t{1} << (32 - kChunkBits);

  // Where the bytes now are; nullopt when they do not fit (over 1 MiB, or past 4 GiB).
  std::optional<uint32_t> Append(std::string_view bytes) {
    if (bytes.size() > kChunkBytes) return std::nullopt;
    if (chunks_.empty() || used_ + bytes.size() > capacity_) {
      if (chunks_.size() == kMaxChunks) return std::nullopt;
      capacity_ = std::clamp<uint32_t>(2 * capacity_, 4096, kChunkBytes);
      capacity_ = std::max(capacity_, static_cast<uint32_t>(bytes.size()));
      chunks_.push_back(std::make_unique<char[]>(capacity_ + kTextPadding));
      allocated_ += capacity_ + kTextPadding;
      used_ = 0;
    }
    const auto at = static_cast<uint32_t>(((chunks_.size() - 1) << kChunkBits) + used_);
    std::memcpy(chunks_.back().get() + used_, bytes.data(), bytes.size());
    used_ += static_cast<uint32_t>(bytes.size());
    return at;
  }
  char* At(uint32_t offset) {
    return chunks_[offset >> kChunkBits].get() + (offset & (kChunkBytes - 1));
  }
  const char* At(uint32_t offset) const {
    return chunks_[offset >> kChunkBits].get() + (offset & (kChunkBytes - 1));
  }
  // The bytes of the chunks (entries, dead ones included, and what is left of the last).
  size_t size() const { return allocated_; }
  size_t MemoryBytes() const { return allocated_ + CapacityBytes(chunks_); }

 private:
  std::vector<std::unique_ptr<char[]>> chunks_;
  uint32_t capacity_ = 0;  // of the last chunk
  uint32_t used_ = 0;      // bytes of the last chunk
  size_t allocated_ = 0;
};

// A text column: each row's folded text in one arena (a varint length, then the bytes), found by
// its offset, so that a text condition reads that field's bytes alone. A rewrite that fits stays
// in place (an order changes no text: most rewrites write nothing); else it moves to the end,
// and the arena is compacted once more than half of it is dead. With `split_domain` (emails), the
// text after the last '@' is a varint code into a dictionary of domains (0: no '@'), which never
// shrinks.
class TextColumn {
 public:
  explicit TextColumn(bool split_domain) : split_domain_(split_domain) {}

  // False when the arena cannot take the text (past 4 GiB).
  bool Push(std::string_view folded) {
    Encode(folded);
    const std::optional<uint32_t> at = arena_.Append(scratch_);
    if (!at) return false;
    offset_.push_back(*at);
    return true;
  }

  bool Set(size_t row, std::string_view folded) {
    Encode(folded);
    char* old = arena_.At(offset_[row]);
    const size_t old_length = EntryLength(old);
    if (scratch_.size() <= old_length) {
      if (std::memcmp(old, scratch_.data(), scratch_.size()) != 0) {
        std::memcpy(old, scratch_.data(), scratch_.size());
      }
      garbage_ += old_length - scratch_.size();
    } else {
      const std::optional<uint32_t> at = arena_.Append(scratch_);
      if (!at) return false;
      offset_[row] = *at;
      garbage_ += old_length;
    }
    if (garbage_ > Arena::kChunkBytes && garbage_ > arena_.size() / 2) Compact();
    return true;
  }

  void Reserve(size_t rows) { offset_.reserve(rows); }

  // The row's text, followed by kTextPadding readable bytes; `buffer` holds it when it has to be
  // put together (an email and its domain).
  std::string_view At(size_t row, std::string& buffer) const {
    size_t n;
    const char* p = GetVarint(arena_.At(offset_[row]), n);
    const std::string_view local(p, n);
    if (!split_domain_) return local;
    size_t code;
    GetVarint(p + n, code);
    if (code == 0) return local;
    buffer.assign(local);
    buffer += '@';
    buffer += domains_[code - 1];
    const size_t length = buffer.size();
    buffer.append(kTextPadding, '\0');
    return std::string_view(buffer.data(), length);
  }

  size_t MemoryBytes() const {
    size_t bytes = CapacityBytes(offset_) + arena_.MemoryBytes() + scratch_.capacity() +
                   CapacityBytes(domains_) + domain_codes_.bucket_count() * sizeof(void*);
    for (const std::string& d : domains_) bytes += 2 * d.capacity() + sizeof(std::string) + 32;
    return bytes;
  }

  void ShrinkToFit() { ShrinkIfLoose(offset_); }

 private:
  void Encode(std::string_view folded) {
    scratch_.clear();
    const size_t at = split_domain_ ? folded.rfind('@') : std::string_view::npos;
    const std::string_view local = folded.substr(0, at);
    PutVarint(scratch_, local.size());
    scratch_ += local;
    if (!split_domain_) return;
    if (at == std::string_view::npos) {
      PutVarint(scratch_, 0);
      return;
    }
    const std::string_view domain = folded.substr(at + 1);
    auto it = domain_codes_.find(domain);
    if (it == domain_codes_.end()) {
      domains_.emplace_back(domain);
      it = domain_codes_.emplace(domains_.back(), static_cast<uint32_t>(domains_.size())).first;
    }
    PutVarint(scratch_, it->second);
  }

  size_t EntryLength(const char* entry) const {
    size_t n;
    const char* p = GetVarint(entry, n);
    p += n;
    if (split_domain_) p = GetVarint(p, n);
    return static_cast<size_t>(p - entry);
  }

  // Cannot fail: the live entries, at most half of the arena, take fewer chunks.
  void Compact() {
    Arena packed;
    for (uint32_t& offset : offset_) {
      const char* entry = arena_.At(offset);
      offset = *packed.Append(std::string_view(entry, EntryLength(entry)));
    }
    arena_ = std::move(packed);
    garbage_ = 0;
  }

  const bool split_domain_;
  std::vector<uint32_t> offset_;
  Arena arena_;
  size_t garbage_ = 0;  // bytes of texts rewritten elsewhere since
  std::vector<std::string> domains_;
  TextMap<uint32_t> domain_codes_;
  std::string scratch_;  // the entry being written
};

// A customer id as the id → row table looks it up.
struct IdProbe {
  explicit IdProbe(std::string_view id) : text(id) {
    packed = PackUuid(id, uuid);
    hash = packed ? std::hash<std::string_view>{}(std::string_view(uuid.data(), uuid.size()))
                  : std::hash<std::string_view>{}(id);
  }
  std::string_view text;
  Uuid uuid{};
  bool packed;
  uint64_t hash;
};

}  // namespace

namespace audience_internal {

struct Columns {
  size_t rows = 0;
  // The figures as served (TotalSpendingCents, AverageOrderCents, TotalVisits, order_count).
  NumberColumn total_spending, average_order, visits, order_count;
  // Millis, kNoTime when the customer has none.
  std::vector<int64_t> last_visit, last_order_at, first_order_at, created_at;
  std::vector<uint32_t> owner;                      // 0: none; else 1 + the owner's index in owners
  // Seed 002: CustomerStatus and CustomerType as their values; the birth date's midnight UTC
  // (kNoTime when unknown); the tags as codes into tag_names (folded), a list per row that has
  // ever had tags (tag_list: 0 none, else 1 + its index in tag_lists).
  std::vector<uint8_t> status, customer_type;
  std::vector<int64_t> birth_date;
  std::vector<uint32_t> tag_list;
  std::vector<std::vector<uint32_t>> tag_lists;
  std::vector<std::string> tag_names;
  TextMap<uint32_t> tag_codes;
  // The recorded loyalty standing, a byte each, 0 while never scored: the level as 1 + its rank
  // (kLevelCodeOffset), the scores as they are (1–5; LoyaltyStanding holds all three or none).
  std::vector<uint8_t> level, recency, frequency, monetary;
  std::vector<Word> is_active, has_phone, text_id;  // a bit per row
  // The ids: a canonical UUID (what Keel assigns) packed; any other id in text_ids.
  std::vector<Uuid> uuid;
  std::unordered_map<uint32_t, std::string> text_ids;
  TextColumn name{false}, email{true}, phone{false};  // folded; a missing phone is ""
  std::vector<std::string> owners;
  TextMap<uint32_t> owner_codes;
  // id → row: open addressing with linear probing over a table of any size (the slot of a hash
  // is hash × size / 2^64). A slot holds row + 1 (0: empty), its tag 8 bits of the id's hash so
  // that most probes read no id.
  std::vector<uint32_t> slots;
  std::vector<uint8_t> tags;
  std::string name_folded, email_folded, phone_folded;  // Upsert's, kept for their room

  std::string IdAt(size_t row) const {
    return BitAt(text_id, row) ? text_ids.at(static_cast<uint32_t>(row)) : UnpackUuid(uuid[row]);
  }
  const TextColumn& Text(TextField field) const {
    return field == TextField::kName ? name : field == TextField::kEmail ? email : phone;
  }

  bool Is(const IdProbe& id, size_t row) const {
    if (BitAt(text_id, row)) {
      return !id.packed && text_ids.at(static_cast<uint32_t>(row)) == id.text;
    }
    return id.packed && uuid[row] == id.uuid;
  }
  size_t SlotOf(uint64_t hash) const {
    return static_cast<size_t>((static_cast<unsigned __int128>(hash) * slots.size()) >> 64);
  }
  size_t Next(size_t slot) const { return slot + 1 == slots.size() ? 0 : slot + 1; }

  uint32_t Find(const IdProbe& id) const {
    if (slots.empty()) return kNoRow;
    const auto tag = static_cast<uint8_t>(id.hash);
    for (size_t i = SlotOf(id.hash);; i = Next(i)) {
      const uint32_t s = slots[i];
      if (s == 0) return kNoRow;
      if (tags[i] == tag && Is(id, s - 1)) return s - 1;
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
    if (rows * 5 > slots.size() * 4) return Reindex(rows * 2);
    Place(hash, row);
  }

  void Reindex(size_t size) {
    std::vector<uint32_t>(std::max<size_t>(64, size)).swap(slots);
    std::vector<uint8_t>(slots.size()).swap(tags);
    for (size_t r = 0; r < rows; ++r) Place(IdProbe(IdAt(r)).hash, static_cast<uint32_t>(r));
  }

  uint32_t TagCode(std::string folded) {
    if (auto it = tag_codes.find(folded); it != tag_codes.end()) return it->second;
    tag_names.push_back(folded);
    return tag_codes.emplace(std::move(folded), static_cast<uint32_t>(tag_names.size() - 1))
        .first->second;
  }

  void SetTags(uint32_t row, const std::vector<std::string>& tags) {
    if (tags.empty() && tag_list[row] == 0) return;
    if (tag_list[row] == 0) {
      tag_lists.emplace_back();
      tag_list[row] = static_cast<uint32_t>(tag_lists.size());
    }
    std::vector<uint32_t>& codes = tag_lists[tag_list[row] - 1];
    codes.clear();
    for (const std::string& tag : tags) codes.push_back(TagCode(FoldCase(tag)));
  }

  uint32_t OwnerCode(const std::optional<std::string>& id) {
    if (!id) return 0;
    if (auto it = owner_codes.find(*id); it != owner_codes.end()) return it->second;
    owners.push_back(*id);
    return owner_codes.emplace(*id, static_cast<uint32_t>(owners.size())).first->second;
  }

  // False when a text arena's offsets cannot reach the text (4 GiB).
  bool Upsert(const Customer& c) {
    const IdProbe id(c.id);
    uint32_t row = Find(id);
    FoldInto(c.name, name_folded);
    FoldInto(c.email, email_folded);
    FoldInto(c.phone ? std::string_view(*c.phone) : std::string_view(), phone_folded);
    const bool is_new = row == kNoRow;
    if (is_new) {
      if (rows + 1 >= kNoRow) return false;
      row = static_cast<uint32_t>(rows);
      if (!name.Push(name_folded) || !email.Push(email_folded) || !phone.Push(phone_folded)) {
        return false;  // (the columns are broken for good: rows no longer lines up)
      }
      ++rows;
      total_spending.Push(0);
      average_order.Push(0);
      visits.Push(0);
      order_count.Push(0);
      last_visit.push_back(0);
      last_order_at.push_back(0);
      first_order_at.push_back(0);
      created_at.push_back(0);
      owner.push_back(0);
      status.push_back(0);
      customer_type.push_back(0);
      birth_date.push_back(kNoTime);
      tag_list.push_back(0);
      for (auto* column : {&level, &recency, &frequency, &monetary}) column->push_back(0);
      if (row % 64 == 0) {
        is_active.push_back(0);
        has_phone.push_back(0);
        text_id.push_back(0);
      }
      uuid.push_back(id.uuid);
      if (!id.packed) text_ids.emplace(row, c.id);
      SetBit(text_id, row, !id.packed);
      Index(id.hash, row);
    } else if (!name.Set(row, name_folded) || !email.Set(row, email_folded) ||
               !phone.Set(row, phone_folded)) {
      return false;
    }
    total_spending.Set(row, TotalSpendingCents(c));
    average_order.Set(row, AverageOrderCents(c));
    visits.Set(row, TotalVisits(c));
    order_count.Set(row, c.stats.order_count);
    last_visit[row] = LastVisit(c).value_or(kNoTime);
    last_order_at[row] = c.stats.last_order_at.value_or(kNoTime);
    first_order_at[row] = c.stats.first_order_at.value_or(kNoTime);
    created_at[row] = c.created_at;
    owner[row] = OwnerCode(c.owner_id);
    status[row] = static_cast<uint8_t>(c.status);
    customer_type[row] = static_cast<uint8_t>(c.customer_type);
    birth_date[row] = RuleNumberOf(RuleField::kBirthDate, c, 0).value_or(kNoTime);
    SetTags(row, c.details.get().tags);
    const LoyaltyStanding& standing = c.standing;
    const bool scored = standing.scored();
    level[row] = scored ? static_cast<uint8_t>(kLevelCodeOffset + static_cast<int>(standing.level))
                        : uint8_t{0};
    recency[row] = scored ? standing.recency : uint8_t{0};
    frequency[row] = scored ? standing.frequency : uint8_t{0};
    monetary[row] = scored ? standing.monetary : uint8_t{0};
    SetBit(is_active, row, c.is_active);
    SetBit(has_phone, row, c.phone.has_value());
    return true;
  }

  // Room for `customers` rows, so that a load grows no array (and leaves the allocator no
  // copies), and an id table that takes them without a rebuild.
  void Reserve(size_t customers) {
    for (NumberColumn* column : {&total_spending, &average_order, &visits, &order_count}) {
      column->Reserve(customers);
    }
    for (auto* column : {&last_visit, &last_order_at, &first_order_at, &created_at}) {
      column->reserve(customers);
    }
    owner.reserve(customers);
    status.reserve(customers);
    customer_type.reserve(customers);
    birth_date.reserve(customers);
    tag_list.reserve(customers);
    for (auto* column : {&level, &recency, &frequency, &monetary}) column->reserve(customers);
    uuid.reserve(customers);
    for (auto* bits : {&is_active, &has_phone, &text_id}) bits->reserve(customers / 64 + 1);
    for (TextColumn* column : {&name, &email, &phone}) column->Reserve(customers);
    if (rows == 0 && customers > 0) {
      slots.assign(customers + customers / 2, 0);
      tags.assign(slots.size(), 0);
    }
  }

  // After a load: the room reserved beyond the rows found (a hint that was too high).
  void ShrinkToFit() {
    for (NumberColumn* column : {&total_spending, &average_order, &visits, &order_count}) {
      column->ShrinkToFit();
    }
    for (auto* column : {&last_visit, &last_order_at, &first_order_at, &created_at}) {
      ShrinkIfLoose(*column);
    }
    ShrinkIfLoose(owner);
    ShrinkIfLoose(status);
    ShrinkIfLoose(customer_type);
    ShrinkIfLoose(birth_date);
    ShrinkIfLoose(tag_list);
    for (auto* column : {&level, &recency, &frequency, &monetary}) ShrinkIfLoose(*column);
    ShrinkIfLoose(uuid);
    for (auto* bits : {&is_active, &has_phone, &text_id}) ShrinkIfLoose(*bits);
    for (TextColumn* column : {&name, &email, &phone}) column->ShrinkToFit();
    if (slots.size() > 4 * rows + 64) Reindex(rows * 2);
  }

  size_t MemoryBytes() const {
    size_t bytes = sizeof(*this);
    for (const NumberColumn* column : {&total_spending, &average_order, &visits, &order_count}) {
      bytes += column->MemoryBytes();
    }
    for (const auto* column : {&last_visit, &last_order_at, &first_order_at, &created_at}) {
      bytes += CapacityBytes(*column);
    }
    for (const TextColumn* column : {&name, &email, &phone}) bytes += column->MemoryBytes();
    bytes += CapacityBytes(status) + CapacityBytes(customer_type) + CapacityBytes(birth_date) +
             CapacityBytes(tag_list) + CapacityBytes(tag_lists) + CapacityBytes(tag_names) +
             tag_codes.bucket_count() * sizeof(void*);
    for (const auto& codes : tag_lists) bytes += CapacityBytes(codes);
    for (const auto* column : {&level, &recency, &frequency, &monetary}) {
      bytes += CapacityBytes(*column);
    }
    for (const std::string& tag : tag_names) bytes += 2 * tag.capacity() + sizeof(std::string) + 32;
    bytes += CapacityBytes(owner) + CapacityBytes(is_active) + CapacityBytes(has_phone) +
             CapacityBytes(text_id) + CapacityBytes(uuid) + CapacityBytes(slots) +
             CapacityBytes(tags) + CapacityBytes(owners) +
             (owner_codes.bucket_count() + text_ids.bucket_count()) * sizeof(void*);
    // Each owner id twice (the list and the map's node), and the node; the same for text ids.
    for (const std::string& id : owners) bytes += 2 * id.capacity() + sizeof(std::string) + 32;
    bytes += text_ids.size() * (sizeof(std::string) + 32);
    for (const auto& [row, id] : text_ids) bytes += id.capacity();
    return bytes;
  }
};

// What queries share beyond the columns: the second thread, which evaluates one half of a
// query's rows while the caller evaluates the other (one query's half at a time: a query that
// finds it busy evaluates both halves itself), and the scratch memory of past queries, reused
// (a query's bitsets in one block: no allocation, and no page faults, per query).
class QueryThreads {
 public:
  QueryThreads() : thread_([this](std::stop_token stop) { Loop(stop); }) {}

  // Starts `task` on the second thread and returns true, or returns false when the thread is
  // busy. After true, Wait must be called before `task` goes.
  template <typename Task>
  bool TryStart(Task& task) {
    std::lock_guard lock(mu_);
    if (busy_) return false;
    busy_ = true;
    done_ = false;
    run_ = [](void* t) { (*static_cast<Task*>(t))(); };
    task_ = &task;
    wake_.notify_one();
    return true;
  }

  void Wait() {
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [&] { return done_; });
    busy_ = false;
  }

  std::vector<Word> TakeBlock(size_t words) {
    std::vector<Word> block;
    {
      std::lock_guard lock(mu_);
      if (!blocks_.empty()) {
        block = std::move(blocks_.back());
        blocks_.pop_back();
      }
    }
    if (block.size() < words) block.resize(words);
    return block;
  }

  void GiveBack(std::vector<Word> block) {
    std::lock_guard lock(mu_);
    if (blocks_.size() < kMaxBlocks) blocks_.push_back(std::move(block));
  }

  size_t MemoryBytes() const {
    std::lock_guard lock(mu_);
    size_t bytes = sizeof(*this);
    for (const auto& block : blocks_) bytes += CapacityBytes(block);
    return bytes;
  }

 private:
  static constexpr size_t kMaxBlocks = 4;  // as many queries at once as need no allocation

  void Loop(std::stop_token stop) {
    std::unique_lock lock(mu_);
    while (wake_.wait(lock, stop, [&] { return task_ != nullptr; })) {
      void (*run)(void*) = run_;
      void* task = task_;
      task_ = nullptr;
      lock.unlock();
      run(task);
      lock.lock();
      done_ = true;
      done_cv_.notify_all();
    }
  }

  mutable std::mutex mu_;
  std::condition_variable_any wake_;
  std::condition_variable done_cv_;
  bool busy_ = false;                      // guarded by mu_; a query holds the thread
  bool done_ = false;                      // guarded by mu_; its task ran
  void (*run_)(void*) = nullptr;           // guarded by mu_
  void* task_ = nullptr;                   // guarded by mu_; the task to run, until it starts
  std::vector<std::vector<Word>> blocks_;  // guarded by mu_
  std::jthread thread_;                    // last: stopped and joined first
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
    kRange,          // the column's value in [lo, hi]
    kSet,            // the column's value in set
    kActivityRange,  // the row's activity time (see ActivityAt) in [lo, hi]
    kActivitySet,    // the row's inactive days in set
    kBits,           // bits[row]
    kOwner,          // owner_match[owner code of row]
    kCode,           // owner_match[codes[row]] (status, customerType, level, the scores)
    kTags,           // owner_match[tag code] for any of the row's tags; negate for none
    kText,           // text_op on the row's folded text field
  };
  Kind kind = Kind::kNone;
  // A leaf selects the complement of what its kind says (a missing value included).
  bool negate = false;
  int cost = 0;   // AND and OR evaluate their cheaper children first
  int depth = 0;  // groups nested in this one, itself included (0 for a leaf)
  std::vector<Plan> children;
  const int64_t* values = nullptr;  // kRange, kSet: the column, if it is int64
  const int32_t* narrow = nullptr;  // kRange, kSet: the column, if it is int32
  int64_t lo = 1, hi = 0;
  std::vector<int64_t> set;  // sorted, distinct
  const Word* bits = nullptr;
  std::vector<uint8_t> owner_match;
  const uint8_t* codes = nullptr;  // kCode: the column
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

// Whether `text` holds `pattern`, 16 places at a time: the places whose first and last bytes
// match are checked in full (for the short texts of names, emails and phones, about twice as
// fast as find, which stops at every first byte).
bool PaddedContains(std::string_view text, std::string_view pattern) {
  const size_t m = pattern.size();
  if (m == 0) return true;
  if (m > text.size()) return false;
#if defined(__SSE2__)
  const __m128i first = _mm_set1_epi8(pattern.front());
  const __m128i last = _mm_set1_epi8(pattern.back());
  const char* t = text.data();
  const size_t places = text.size() - m + 1;
  for (size_t i = 0; i < places; i += 16) {
    // Reads up to 15 bytes past the text: the padding.
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t + i + m - 1));
    auto bits = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last))));
    if (places - i < 16) bits &= (1u << (places - i)) - 1;
    for (; bits != 0; bits &= bits - 1) {
      const char* at = t + i + static_cast<size_t>(std::countr_zero(bits));
      size_t k = 1;
      while (k + 1 < m && at[k] == pattern[k]) ++k;
      if (k + 1 >= m) return true;
    }
  }
  return false;
#else
  return text.find(pattern) != std::string_view::npos;
#endif
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
    p.depth = 0;
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
          p.depth = std::max(p.depth, p.children.back().depth + 1);
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
        p.depth = p.children.back().depth + 1;
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
        return Figure(c, c_.total_spending);
      case RuleField::kAverageOrderValue:
        return Figure(c, c_.average_order);
      case RuleField::kVisits:
        return Figure(c, c_.visits);
      case RuleField::kOrderCount:
        return Figure(c, c_.order_count);
      case RuleField::kInactiveDays:
        return Number(c, {}, false);
      case RuleField::kLastVisit:
        return Number(c, {c_.last_visit.data(), nullptr}, true);
      case RuleField::kLastOrderAt:
        return Number(c, {c_.last_order_at.data(), nullptr}, true);
      case RuleField::kFirstOrderAt:
        return Number(c, {c_.first_order_at.data(), nullptr}, true);
      case RuleField::kCreatedAt:
        return Number(c, {c_.created_at.data(), nullptr}, false);
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
      case RuleField::kStatus:
        return Code(c, c_.status.data(), {"LEAD", "OPPORTUNITY", "CUSTOMER", "CHURNED"});
      case RuleField::kCustomerType:
        return Code(c, c_.customer_type.data(), {"PERSON", "COMPANY"});
      case RuleField::kBirthDate:
        return Number(c, {c_.birth_date.data(), nullptr}, true);
      case RuleField::kTags:
        return Tags(c);
      case RuleField::kLevel:
        return Standing(c, c_.level.data(), kLevelCodeOffset);
      case RuleField::kRecencyScore:
        return Standing(c, c_.recency.data(), 0);
      case RuleField::kFrequencyScore:
        return Standing(c, c_.frequency.data(), 0);
      case RuleField::kMonetaryScore:
        return Standing(c, c_.monetary.data(), 0);
    }
    return Plan{};
  }

  static Plan Constant(bool all) {
    Plan p;
    p.kind = all ? Plan::Kind::kAll : Plan::Kind::kNone;
    return p;
  }

  // A column of int64 or int32 values; neither for inactive days (derived from the activity
  // time).
  struct Column {
    const int64_t* wide = nullptr;
    const int32_t* narrow = nullptr;
    bool derived() const { return !wide && !narrow; }
  };

  Plan Figure(const RuleCondition& c, const NumberColumn& column) const {
    return Number(c, {column.wide(), column.narrow()}, false);
  }

  // `optional`: whether the column holds kNoTime for customers without a value.
  Plan Number(const RuleCondition& c, Column values, bool optional) const {
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

  Plan Range(Interval selected, Column values, bool optional, bool negate) const {
    Plan p;
    p.negate = negate;
    if (optional && selected.lo == kMin) {
      if (selected.hi == kMin)
        selected = kEmpty;
      else
        selected.lo = kMin + 1;  // never the missing value's sentinel
    }
    if (!values.derived()) {
      p.kind = Plan::Kind::kRange;
      p.values = values.wide;
      p.narrow = values.narrow;
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

  Plan Set(std::vector<int64_t> set, Column values, bool optional, bool negate) const {
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
    p.kind = values.derived() ? Plan::Kind::kActivitySet : Plan::Kind::kSet;
    p.values = values.wide;
    p.narrow = values.narrow;
    p.cost = values.derived() ? 12 : set.size() <= 8 ? 4 : 8;
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

  // A field of a few values (`names`, by value), compared exactly: each value evaluated once.
  static Plan Code(const RuleCondition& c, const uint8_t* column,
                   std::initializer_list<std::string_view> names) {
    Plan p;
    p.kind = Plan::Kind::kCode;
    p.cost = 2;
    p.codes = column;
    for (std::string_view name : names) {
      p.owner_match.push_back(ExactTextMatches(c.op, name, c.texts) ? 1 : 0);
    }
    return p;
  }

  // A byte column of the loyalty standing, whose code is the value + `offset` (0: never scored):
  // each of the 256 codes evaluated once, as a number (a level by its rank).
  Plan Standing(const RuleCondition& c, const uint8_t* column, int offset) const {
    Plan p;
    p.kind = Plan::Kind::kCode;
    p.cost = 2;
    p.codes = column;
    p.owner_match.resize(256);
    p.owner_match[0] = c.op == RuleOp::kIsEmpty || c.op == RuleOp::kNe || c.op == RuleOp::kNotIn ||
                       c.op == RuleOp::kNotInLastDays;
    for (int code = 1; code < 256; ++code) {
      p.owner_match[static_cast<size_t>(code)] = NumberMatches(c, code - offset) ? 1 : 0;
    }
    return p;
  }

  // Whether a value `v` the customer has meets a number condition (at now_).
  bool NumberMatches(const RuleCondition& c, int64_t v) const {
    const int64_t a = Operand(c, 0);
    switch (c.op) {
      case RuleOp::kGt:
        return v > a;
      case RuleOp::kGe:
        return v >= a;
      case RuleOp::kLt:
        return v < a;
      case RuleOp::kLe:
        return v <= a;
      case RuleOp::kEq:
        return v == a;
      case RuleOp::kNe:
        return v != a;
      case RuleOp::kBetween:
        return a <= v && v <= Operand(c, 1);
      case RuleOp::kIn:
        return std::find(c.numbers.begin(), c.numbers.end(), v) != c.numbers.end();
      case RuleOp::kNotIn:
        return std::find(c.numbers.begin(), c.numbers.end(), v) == c.numbers.end();
      case RuleOp::kInLastDays:
      case RuleOp::kNotInLastDays: {
        // At or after now − N days; computed wide, so that no operand overflows.
        const bool within = static_cast<__int128>(v) >=
                            static_cast<__int128>(now_) - static_cast<__int128>(a) * kDayMillis;
        return within != (c.op == RuleOp::kNotInLastDays);
      }
      case RuleOp::kIsNotEmpty:
        return true;
      default:
        return false;
    }
  }

  // tags contains a value (folded), or has none / some.
  Plan Tags(const RuleCondition& c) const {
    Plan p;
    p.kind = Plan::Kind::kTags;
    p.cost = 8;
    p.owner_match.assign(c_.tag_names.size(), 0);
    switch (c.op) {
      case RuleOp::kIsEmpty:
        p.owner_match.assign(c_.tag_names.size(), 1);
        p.negate = true;  // the rows with no tag
        return p;
      case RuleOp::kIsNotEmpty:
        p.owner_match.assign(c_.tag_names.size(), 1);
        return p;
      case RuleOp::kContains:
        if (c.texts.empty()) return Constant(false);
        if (auto it = c_.tag_codes.find(FoldCase(c.texts.front())); it != c_.tag_codes.end()) {
          p.owner_match[it->second] = 1;
        }
        return p;
      default:
        return Constant(false);
    }
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

// Evaluates a plan over the rows of words [w0, w1): out[i] holds the rows of word w0 + i that
// are among the candidates `cand` and match. `scratch`: 2 × the plan's depth bitsets of the
// range, for the groups (a group at level L uses the two of that level).
class Evaluator {
 public:
  Evaluator(const Columns& columns, Millis now, size_t w0, size_t w1, Word* scratch)
      : c_(columns), now_(now), w0_(w0), n_(w1 - w0), scratch_(scratch) {}

  void Run(const Plan& p, const Word* cand, Word* out, int level = 0) const {
    switch (p.kind) {
      case Plan::Kind::kAnd: {
        Word* acc = Scratch(level, 0);
        Word* next = Scratch(level, 1);
        std::copy(cand, cand + n_, acc);
        for (const Plan& child : p.children) {
          Run(child, acc, next, level + 1);
          std::swap(acc, next);
          if (NoneSet(acc)) break;
        }
        std::copy(acc, acc + n_, out);
        return;
      }
      case Plan::Kind::kOr: {
        Word* rest = Scratch(level, 0);
        Word* found = Scratch(level, 1);
        std::copy(cand, cand + n_, rest);
        std::fill(out, out + n_, 0);
        for (const Plan& child : p.children) {
          Run(child, rest, found, level + 1);
          for (size_t i = 0; i < n_; ++i) {
            out[i] |= found[i];
            rest[i] &= ~found[i];
          }
          if (NoneSet(rest)) break;
        }
        return;
      }
      case Plan::Kind::kNot: {
        Word* inner = Scratch(level, 0);
        Run(p.children.front(), cand, inner, level + 1);
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
      case Plan::Kind::kRange:
        if (p.narrow) {
          RunRange(p, p.narrow, cand, out);
        } else {
          RunRange(p, p.values, cand, out);
        }
        return;
      case Plan::Kind::kSet:
        if (p.narrow) {
          RunSet(p, p.narrow, cand, out);
        } else {
          RunSet(p, p.values, cand, out);
        }
        return;
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
      case Plan::Kind::kCode: {
        const uint8_t* codes = p.codes;
        const uint8_t* match = p.owner_match.data();
        Scan(cand, p.negate, out, [=](size_t r) { return match[codes[r]] != 0; });
        return;
      }
      case Plan::Kind::kTags: {
        const uint8_t* match = p.owner_match.data();
        Probe(cand, p.negate, out, [&](size_t r) {
          const uint32_t list = c_.tag_list[r];
          if (list == 0) return false;
          for (uint32_t code : c_.tag_lists[list - 1]) {
            if (match[code]) return true;
          }
          return false;
        });
        return;
      }
      case Plan::Kind::kText:
        RunText(p, cand, out);
        return;
    }
  }

 private:
  Word* Scratch(int level, int which) const {
    return scratch_ + (2 * static_cast<size_t>(level) + static_cast<size_t>(which)) * n_;
  }
  bool NoneSet(const Word* bits) const {
    return std::all_of(bits, bits + n_, [](Word w) { return w == 0; });
  }

  template <typename T>
  void RunRange(const Plan& p, const T* v, const Word* cand, Word* out) const {
    // lo ≤ v ≤ hi as one unsigned comparison: v − lo ≤ hi − lo, modulo 2^64.
    const auto lo = static_cast<uint64_t>(p.lo);
    const uint64_t span = static_cast<uint64_t>(p.hi) - lo;
    Scan(cand, p.negate, out,
         [=](size_t r) { return static_cast<uint64_t>(static_cast<int64_t>(v[r])) - lo <= span; });
  }

  template <typename T>
  void RunSet(const Plan& p, const T* v, const Word* cand, Word* out) const {
    const std::vector<int64_t>& set = p.set;
    if (set.size() <= 8) {
      Scan(cand, p.negate, out, [&](size_t r) {
        bool any = false;
        for (int64_t s : set) any |= static_cast<int64_t>(v[r]) == s;
        return any;
      });
    } else {
      Probe(cand, p.negate, out, [&](size_t r) {
        return std::binary_search(set.begin(), set.end(), static_cast<int64_t>(v[r]));
      });
    }
  }

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
    const TextColumn& column = c_.Text(p.text_field);
    const bool optional = p.text_field == TextField::kPhone;
    std::string buffer;
    auto with_text = [&](auto match) {
      Probe(cand, p.negate, out, [&](size_t r) {
        return (!optional || BitAt(c_.has_phone, r)) && match(column.At(r, buffer));
      });
    };
    switch (p.text_op) {
      case RuleOp::kEq:
        with_text([&](std::string_view v) { return v == first; });
        return;
      case RuleOp::kContains:
        with_text([&](std::string_view v) { return PaddedContains(v, first); });
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
  Word* const scratch_;
};

}  // namespace

AudienceColumns::AudienceColumns(size_t parallel_min_rows)
    : parallel_min_rows_(parallel_min_rows),
      threads_(std::make_unique<audience_internal::QueryThreads>()) {}

AudienceColumns::~AudienceColumns() = default;

Status AudienceColumns::Load(ReadStore& store) {
  CustomerView* self = this;
  return LoadCustomerViews(store, {&self, 1});
}

void AudienceColumns::StartLoad(size_t expected_customers) {
  loaded_ = std::make_unique<Columns>();
  loaded_->Reserve(expected_customers);
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
  fresh->ShrinkToFit();
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

void AudienceColumns::Evaluate(const RuleNode& rules, Millis now,
                               const std::function<void(std::span<const uint64_t>)>& use) const {
  const Columns& c = *rows_;
  const size_t words = (c.rows + 63) / 64;
  const Plan plan = Planner(c, now).Of(rules);
  const size_t depth = static_cast<size_t>(plan.depth);
  // One block: every row (the candidates of the top), the matches, then the groups' bitsets.
  std::vector<Word> block = threads_->TakeBlock(words * (2 + 2 * depth));
  Word* all = block.data();
  Word* out = all + words;
  Word* scratch = out + words;
  std::fill(all, all + words, ~Word{0});
  if (c.rows % 64 != 0) all[words - 1] = (Word{1} << (c.rows % 64)) - 1;
  // A half's groups use its share of the scratch: 2 × depth bitsets of its words.
  auto run = [&](size_t w0, size_t w1) {
    Evaluator(c, now, w0, w1, scratch + 2 * depth * w0).Run(plan, all + w0, out + w0);
  };
  const size_t mid = words / 2;
  auto second_half = [&] { run(mid, words); };
  if (c.rows >= parallel_min_rows_ && words >= 2 && threads_->TryStart(second_half)) {
    // Waited for even if this half throws: the other half reads the plan and the block.
    struct Joined {
      audience_internal::QueryThreads& threads;
      ~Joined() { threads.Wait(); }
    } joined{*threads_};
    run(0, mid);
  } else {
    run(0, words);
  }
  use(std::span<const Word>(out, words));
  threads_->GiveBack(std::move(block));
}

AudienceColumns::Audience AudienceColumns::Count(const RuleNode& rules, Millis now,
                                                 size_t sample_size) const {
  Audience audience;
  std::shared_lock lock(mu_);
  if (!ready()) return audience;
  Evaluate(rules, now, [&](std::span<const Word> matches) {
    for (size_t i = 0; i < matches.size(); ++i) {
      audience.count += std::popcount(matches[i]);
      for (Word m = matches[i]; m != 0 && audience.sample.size() < sample_size; m &= m - 1) {
        audience.sample.push_back(rows_->IdAt(i * 64 + static_cast<size_t>(std::countr_zero(m))));
      }
    }
  });
  return audience;
}

std::vector<std::string> AudienceColumns::Members(const RuleNode& rules, Millis now, size_t offset,
                                                  size_t limit, int64_t* total) const {
  std::vector<std::string> ids;
  if (total) *total = 0;
  std::shared_lock lock(mu_);
  if (!ready()) return ids;
  Evaluate(rules, now, [&](std::span<const Word> matches) {
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
  });
  return ids;
}

size_t AudienceColumns::MemoryBytes() const {
  std::shared_lock lock(mu_);
  size_t bytes = sizeof(*this) + pending_.capacity() * sizeof(Customer) + threads_->MemoryBytes();
  if (rows_) bytes += rows_->MemoryBytes();
  return bytes;
}

size_t AudienceColumns::size() const {
  std::shared_lock lock(mu_);
  return rows_ ? rows_->rows : 0;
}

}  // namespace keel
