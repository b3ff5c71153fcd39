#include "domain/message_template.h"

#include <simdjson.h>
#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "domain/json.h"
#include "domain/loyalty.h"
#include "domain/text.h"
#include "domain/time.h"

namespace keel {

// In the order of kFieldNames.
enum class MessageTemplate::Field : uint8_t {
  kName,
  kFirstName,
  kLastName,
  kEmail,
  kPhone,
  kTotalSpending,
  kLastOrderAt,
  kLevel,
};

namespace {

constexpr std::array<std::string_view, 8> kFieldNames = {
    "name", "firstName", "lastName", "email", "phone", "totalSpending", "lastOrderAt", "level",
};

constexpr std::string_view kSpace = " \t\r\n\f\v";

// The valid name closest to `name` (ASCII case ignored).
std::string_view ClosestName(std::string_view name) {
  // Longer names are no closer to any valid one: their first bytes suffice, and keep this cheap.
  const std::string lower = AsciiLower(name.substr(0, 64));
  std::string_view best = kFieldNames[0];
  size_t best_distance = SIZE_MAX;
  for (std::string_view candidate : kFieldNames) {
    const size_t d = EditDistance(lower, AsciiLower(candidate));
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

// The byte length of the code point at s[i] (1 for a byte that does not start valid UTF-8), and
// whether it separates words: ASCII whitespace or a Unicode space, line or paragraph separator
// (the no-break and ideographic spaces included).
size_t CodePointAt(std::string_view s, size_t i, bool& is_space) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    is_space = kSpace.find(static_cast<char>(c)) != std::string_view::npos;
    return 1;
  }
  utf8proc_int32_t cp = 0;
  const utf8proc_ssize_t n =
      utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i),
                       static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
  if (n <= 0) {
    is_space = false;
    return 1;
  }
  const utf8proc_category_t category = utf8proc_category(cp);
  is_space = category == UTF8PROC_CATEGORY_ZS || category == UTF8PROC_CATEGORY_ZL ||
             category == UTF8PROC_CATEGORY_ZP;
  return static_cast<size_t>(n);
}

struct NameParts {
  std::string_view first;
  std::string_view rest;  // from the second word to the last, inner spacing kept
};

NameParts SplitName(std::string_view name) {
  NameParts parts;
  size_t i = 0;
  bool space = false;
  size_t first_begin = std::string_view::npos;
  size_t first_end = name.size();
  size_t rest_begin = std::string_view::npos;
  size_t rest_end = 0;
  while (i < name.size()) {
    const size_t width = CodePointAt(name, i, space);
    if (space) {
      if (first_begin != std::string_view::npos && first_end == name.size()) first_end = i;
    } else if (first_begin == std::string_view::npos) {
      first_begin = i;
    } else if (first_end != name.size()) {
      if (rest_begin == std::string_view::npos) rest_begin = i;
      rest_end = i + width;
    }
    i += width;
  }
  if (first_begin == std::string_view::npos) return parts;
  parts.first = name.substr(first_begin, first_end - first_begin);
  if (rest_begin != std::string_view::npos)
    parts.rest = name.substr(rest_begin, rest_end - rest_begin);
  return parts;
}

std::string Placeholder(std::string_view name) {
  std::string out = "\"{{";
  out += name;
  out += "}}\"";
  return out;
}

}  // namespace

// Reads a text once from left to right, collecting every problem it finds.
class MessageTemplate::Parser {
 public:
  Parser(std::string_view text, std::string_view field) : text_(text), field_(field) {}

  void Run(MessageTemplate& out) {
    size_t literal_begin = 0;
    size_t pos = 0;
    while (true) {
      const size_t open = text_.find("{{", pos);
      if (open == std::string_view::npos) break;
      Read read = ReadPlaceholder(open);
      if (read.field) {
        Part part;
        part.literal_begin = literal_begin;
        part.literal_size = open - literal_begin;
        part.has_placeholder = true;
        part.field = *read.field;
        part.fallback = std::move(read.fallback);
        out.parts_.push_back(std::move(part));
        literal_begin = read.end;
      }
      pos = read.end;
    }
    Part last;
    last.literal_begin = literal_begin;
    last.literal_size = text_.size() - literal_begin;
    out.parts_.push_back(std::move(last));
  }

  std::vector<FieldError> TakeErrors() { return std::move(errors_); }

 private:
  struct Read {
    std::optional<Field> field;  // none when the placeholder has a problem
    std::string fallback;
    size_t end = 0;  // where reading goes on
  };

  // Reads the placeholder whose "{{" is at `open`.
  Read ReadPlaceholder(size_t open) {
    Read read;
    auto refused = [&read](size_t end) {
      read.field.reset();
      read.end = end;
      return std::move(read);
    };
    size_t pos = open + 2;
    while (pos < text_.size() && text_[pos] != '|' && !At(pos, "}}")) {
      if (At(pos, "{{")) {  // the next placeholder opens before this one closes
        Unclosed(open);
        return refused(pos);
      }
      ++pos;
    }
    if (pos == text_.size()) {
      Unclosed(open);
      return refused(pos);
    }
    const std::string_view name = TrimSpace(text_.substr(open + 2, pos - open - 2));
    const bool name_ok = CheckName(open, name, read.field);
    if (text_[pos] == '|') {
      pos = SkipSpace(pos + 1);
      if (pos == text_.size()) {
        Unclosed(open);
        return refused(pos);
      }
      if (text_[pos] != '"') {
        Malformed(open, name, "expected a double-quoted text after \"|\"");
        return refused(Resync(pos));
      }
      switch (ReadQuoted(pos, read.fallback)) {
        case Quoted::kClosed:
          break;
        case Quoted::kBadEscape:
          Malformed(open, name, R"(only \" and \\ may follow a backslash)");
          read.field.reset();
          break;
        case Quoted::kUnclosed:
          Malformed(open, name, "the quoted text is not closed");
          return refused(text_.size());
      }
      pos = SkipSpace(pos);
      if (pos == text_.size()) {
        Unclosed(open);
        return refused(pos);
      }
      if (!At(pos, "}}")) {
        Malformed(open, name, "expected \"}}\" after the quoted text");
        return refused(Resync(pos));
      }
    }
    if (!name_ok) read.field.reset();
    read.end = pos + 2;
    return read;
  }

  enum class Quoted { kClosed, kBadEscape, kUnclosed };

  // Reads the quoted text whose opening quote is at `pos` into `out`, unescaped, leaving `pos`
  // after the closing quote (or at the end of the text when there is none).
  Quoted ReadQuoted(size_t& pos, std::string& out) const {
    bool bad_escape = false;
    for (++pos; pos < text_.size(); ++pos) {
      const char c = text_[pos];
      if (c == '"') {
        ++pos;
        return bad_escape ? Quoted::kBadEscape : Quoted::kClosed;
      }
      if (c == '\\') {
        if (pos + 1 < text_.size() && (text_[pos + 1] == '"' || text_[pos + 1] == '\\')) {
          out.push_back(text_[++pos]);
        } else {
          bad_escape = true;
        }
        continue;
      }
      out.push_back(c);
    }
    return Quoted::kUnclosed;
  }

  bool CheckName(size_t open, std::string_view name, std::optional<Field>& field) {
    if (name.empty()) {
      std::string message = "Empty placeholder \"{{}}\" at character ";
      message += std::to_string(CharacterAt(open));
      message += "; expected a name: ";
      for (size_t i = 0; i < kFieldNames.size(); ++i) {
        if (i > 0) message += i + 1 < kFieldNames.size() ? ", " : " or ";
        message += kFieldNames[i];
      }
      Add(std::move(message));
      return false;
    }
    for (size_t i = 0; i < kFieldNames.size(); ++i) {
      if (kFieldNames[i] == name) {
        field = static_cast<Field>(i);
        return true;
      }
    }
    std::string message = "Unknown placeholder ";
    message += Placeholder(name);
    message += " at character ";
    message += std::to_string(CharacterAt(open));
    message += "; did you mean ";
    message += Placeholder(ClosestName(name));
    message += '?';
    Add(std::move(message));
    return false;
  }

  void Unclosed(size_t open) {
    std::string message = "Unclosed \"{{\" at character ";
    message += std::to_string(CharacterAt(open));
    message += "; a placeholder ends with \"}}\"";
    Add(std::move(message));
  }

  void Malformed(size_t open, std::string_view name, std::string_view reason) {
    std::string message = "Malformed default of ";
    message += Placeholder(name);
    message += " at character ";
    message += std::to_string(CharacterAt(open));
    message += ": ";
    message += reason;
    Add(std::move(message));
  }

  void Add(std::string message) { errors_.push_back({std::string(field_), std::move(message)}); }

  // Where reading goes on after a malformed default: after the next "}}", or at the next "{{"
  // when that comes first.
  size_t Resync(size_t pos) const {
    const size_t close = text_.find("}}", pos);
    const size_t open = text_.find("{{", pos);
    if (open < close) return open;
    return close == std::string_view::npos ? text_.size() : close + 2;
  }

  bool At(size_t pos, std::string_view token) const { return text_.substr(pos).starts_with(token); }

  size_t SkipSpace(size_t pos) const {
    pos = text_.find_first_not_of(kSpace, pos);
    return pos == std::string_view::npos ? text_.size() : pos;
  }

  // The 1-based code point position of the byte at `byte`. Problems are reported from left to
  // right, so the count goes on from the last one.
  size_t CharacterAt(size_t byte) {
    if (byte < counted_bytes_) {
      counted_bytes_ = 0;
      counted_points_ = 0;
    }
    counted_points_ += Utf8Length(text_.substr(counted_bytes_, byte - counted_bytes_));
    counted_bytes_ = byte;
    return counted_points_ + 1;
  }

  std::string_view text_;
  std::string_view field_;
  std::vector<FieldError> errors_;
  size_t counted_bytes_ = 0;
  size_t counted_points_ = 0;
};

Result<MessageTemplate> MessageTemplate::Parse(std::string_view text, std::string_view field,
                                               size_t max_code_points) {
  auto fail = [&](std::string message) {
    return Fail(Error::Validation({{std::string(field), std::move(message)}}));
  };
  if (!simdjson::validate_utf8(text.data(), text.size())) return fail("Must be valid UTF-8");
  const size_t length = Utf8Length(text);
  if (length == 0 || length > max_code_points) {
    return fail("Must be 1 to " + std::to_string(max_code_points) + " characters");
  }
  if (TrimSpace(text).empty()) return fail("Must not be blank");

  MessageTemplate out;
  Parser parser(text, field);
  parser.Run(out);
  std::vector<FieldError> errors = parser.TakeErrors();
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));

  out.source_ = std::string(text);
  for (const Part& part : out.parts_) {
    out.literal_bytes_ += part.literal_size;
    if (part.has_placeholder &&
        std::find(out.used_.begin(), out.used_.end(), part.field) == out.used_.end()) {
      out.used_.push_back(part.field);
    }
  }
  return out;
}

std::string MessageTemplate::Render(const Customer& customer) const {
  static_assert(kFieldNames.size() == static_cast<size_t>(Field::kLevel) + 1);
  // The values of the placeholders used, each computed once.
  std::array<std::string_view, kFieldNames.size()> values;
  std::string spending;
  std::string last_order;
  for (const Field field : used_) {
    std::string_view& value = values[static_cast<size_t>(field)];
    switch (field) {
      case Field::kName:
        value = customer.name;
        break;
      case Field::kFirstName:
        value = SplitName(customer.name).first;
        break;
      case Field::kLastName:
        value = SplitName(customer.name).rest;
        break;
      case Field::kEmail:
        value = customer.email;
        break;
      case Field::kPhone:
        if (customer.phone) value = *customer.phone;
        break;
      case Field::kTotalSpending:
        spending = FormatCents(TotalSpendingCents(customer));
        value = spending;
        break;
      case Field::kLastOrderAt:
        if (customer.stats.last_order_at) {
          last_order = FormatIso8601(*customer.stats.last_order_at);
          value = std::string_view(last_order).substr(0, last_order.find('T'));
        }
        break;
      case Field::kLevel:
        value = LoyaltyLevelName(customer.standing.level);
        break;
    }
  }
  auto chosen = [&](const Part& part) -> std::string_view {
    const std::string_view value = values[static_cast<size_t>(part.field)];
    return value.empty() ? std::string_view(part.fallback) : value;
  };

  size_t size = literal_bytes_;
  for (const Part& part : parts_) {
    if (part.has_placeholder) size += chosen(part).size();
  }
  std::string out;
  out.reserve(size);
  const std::string_view source = source_;
  for (const Part& part : parts_) {
    out += source.substr(part.literal_begin, part.literal_size);
    if (part.has_placeholder) out += chosen(part);
  }
  return out;
}

size_t MessageTemplate::MaxRenderedBytes() const {
  // In the order of Field: name, firstName, lastName (each at most 100 code points of up to 4
  // bytes), email, phone, totalSpending ("-92233720368547758.08"), lastOrderAt (a date).
  static constexpr size_t kMaxValueBytes[] = {400, 400, 400, 254, 50, 24, 16};
  size_t size = literal_bytes_;
  for (const Part& part : parts_) {
    if (part.has_placeholder) {
      size += std::max(kMaxValueBytes[static_cast<size_t>(part.field)], part.fallback.size());
    }
  }
  return size;
}

std::vector<std::string> MessageTemplate::placeholders() const {
  std::vector<std::string> names;
  names.reserve(used_.size());
  for (const Field field : used_) names.emplace_back(kFieldNames[static_cast<size_t>(field)]);
  return names;
}

}  // namespace keel
