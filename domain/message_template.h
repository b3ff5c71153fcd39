// The template language of campaign messages: literal text with placeholders for the
// customer's figures, parsed once and rendered for every recipient. Pure; a value type (copy
// freely); a parsed template is immutable, so Render may run on many threads at once.
//
// Placeholders, each between "{{" and "}}", whitespace around the parts allowed:
//   {{name}}           the name as stored
//   {{firstName}}      the name's first word (words split at Unicode space separators and tabs,
//                      line breaks)
//   {{lastName}}       the rest of the name after the first word; empty for a one-word name
//   {{email}}
//   {{phone}}          empty without a phone
//   {{totalSpending}}  TotalSpendingCents in currency units with two decimals: "1234.50"
//   {{lastOrderAt}}    the UTC date (YYYY-MM-DD) of stats.last_order_at; empty without orders
//   {{level}}          the loyalty level the level keeper last recorded (Bronze … Platinum)
// A placeholder may carry a default, used when its value is empty: {{firstName | "there"}}. The
// default is a double-quoted literal in which \" and \\ stand for " and \; nothing else is
// interpreted in it.
// Outside placeholders text is copied as it is: a single "{" or "}" is literal, and so is a "}}"
// that closes nothing; "{{" always opens a placeholder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "domain/customer.h"
#include "domain/error.h"

namespace keel {

inline constexpr size_t kMaxMessageTemplateLength = 1000;  // code points

class MessageTemplate final {
 public:
  // Parses `text`: valid UTF-8 of 1 to `max_code_points` code points, not blank. Otherwise
  // kInvalidArgument with field errors at `field`: one per problem found (an unknown placeholder,
  // with the closest valid name; an unclosed "{{"; an empty placeholder; a malformed default),
  // each naming the placeholder and the character (code point, from 1) where its "{{" is.
  // A text that is not valid UTF-8, or over the limit, gets that error alone: it is not read
  // further.
  static Result<MessageTemplate> Parse(std::string_view text, std::string_view field = "message",
                                       size_t max_code_points = kMaxMessageTemplateLength);

  // The text for one recipient; its size is reserved up front.
  std::string Render(const Customer& customer) const;

  // The text as given to Parse.
  const std::string& source() const { return source_; }

  // The most bytes Render can write, for any customer Keel accepts (a name of 100 code points,
  // an email of 254 bytes, a phone of 50, …): what a campaign's message is held to.
  size_t MaxRenderedBytes() const;

  // The placeholder names used, in order of first use, each once: "firstName", "lastOrderAt"…
  std::vector<std::string> placeholders() const;

  bool operator==(const MessageTemplate& other) const { return source_ == other.source_; }

 private:
  enum class Field : uint8_t;  // defined in message_template.cc

  // A run of literal text (a range of source_), then a placeholder unless it is the last part.
  struct Part {
    size_t literal_begin = 0;
    size_t literal_size = 0;
    bool has_placeholder = false;
    Field field{};
    std::string fallback;  // the default, unescaped; empty when none
  };

  class Parser;

  MessageTemplate() = default;

  std::string source_;
  std::vector<Part> parts_;
  std::vector<Field> used_;  // in order of first use, each once
  size_t literal_bytes_ = 0;
};

}  // namespace keel
