#include "domain/message_template.h"

#include <gtest/gtest.h>

#include <limits>
#include <optional>

namespace keel {
namespace {

Millis T(std::string_view iso) {
  auto t = ParseIso8601(iso);
  EXPECT_TRUE(t) << iso;
  return t.value_or(0);
}

// A customer without orders or phone.
Customer Ada() {
  Customer c;
  c.id = "c-1";
  c.name = "Ada Lovelace";
  c.email = "ada@example.com";
  c.total_spending_cents = 123'450;
  c.version = 1;
  return c;
}

std::string Render(std::string_view text, const Customer& customer) {
  auto parsed = MessageTemplate::Parse(text);
  EXPECT_TRUE(parsed) << text << ": "
                      << (parsed ? ""
                          : parsed.error().field_errors.empty()
                              ? parsed.error().message
                              : parsed.error().field_errors[0].message);
  return parsed ? parsed->Render(customer) : std::string();
}

// The field errors of a text Parse refuses, after checking the code.
std::vector<FieldError> Errors(std::string_view text, std::string_view field = "message",
                               size_t max_code_points = kMaxMessageTemplateLength) {
  auto parsed = MessageTemplate::Parse(text, field, max_code_points);
  EXPECT_FALSE(parsed) << text;
  if (parsed) return {};
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(parsed.error().message, "Validation failed");
  return parsed.error().field_errors;
}

std::vector<FieldError> One(std::string message) { return {{"message", std::move(message)}}; }

std::string Repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

TEST(MessageTemplateTest, RendersEachPlaceholder) {
  Customer c = Ada();
  c.phone = "+44 20 7946 0000";
  c.stats.order_count = 2;
  c.stats.order_cents = 1'000;
  c.stats.first_order_at = T("2026-01-02T10:00:00Z");
  c.stats.last_order_at = T("2026-03-04T23:59:59.999Z");

  EXPECT_EQ(Render("{{name}}", c), "Ada Lovelace");
  EXPECT_EQ(Render("{{firstName}}", c), "Ada");
  EXPECT_EQ(Render("{{lastName}}", c), "Lovelace");
  EXPECT_EQ(Render("{{email}}", c), "ada@example.com");
  EXPECT_EQ(Render("{{phone}}", c), "+44 20 7946 0000");
  EXPECT_EQ(Render("{{totalSpending}}", c), "1244.50");  // baseline plus orders
  EXPECT_EQ(Render("{{lastOrderAt}}", c), "2026-03-04");
  EXPECT_EQ(
      Render("Hi {{firstName}}, you spent {{totalSpending}} (last order {{lastOrderAt}}).", c),
      "Hi Ada, you spent 1244.50 (last order 2026-03-04).");
}

TEST(MessageTemplateTest, RendersCustomerWithoutOrders) {
  const Customer c = Ada();
  EXPECT_EQ(Render("[{{lastOrderAt}}] [{{phone}}] {{totalSpending}}", c), "[] [] 1234.50");
  EXPECT_EQ(Render("Last order: {{lastOrderAt | \"never\"}}", c), "Last order: never");
}

TEST(MessageTemplateTest, LastOrderAtIsTheUtcDate) {
  Customer c = Ada();
  c.stats.order_count = 1;
  c.stats.last_order_at = T("2026-03-05T01:30:00+02:00");  // 2026-03-04T23:30Z
  EXPECT_EQ(Render("{{lastOrderAt | \"never\"}}", c), "2026-03-04");
  c.stats.last_order_at = T("1969-12-31T23:59:59.999Z");  // before the epoch
  EXPECT_EQ(Render("{{lastOrderAt}}", c), "1969-12-31");
  c.stats.last_order_at = T("2024-02-29T00:00:00Z");
  EXPECT_EQ(Render("{{lastOrderAt}}", c), "2024-02-29");
}

TEST(MessageTemplateTest, TotalSpendingHasTwoDecimals) {
  Customer c = Ada();
  auto spending = [&](int64_t baseline, int64_t orders) {
    c.total_spending_cents = baseline;
    c.stats.order_cents = orders;
    return Render("{{totalSpending}}", c);
  };
  EXPECT_EQ(spending(0, 0), "0.00");
  EXPECT_EQ(spending(5, 0), "0.05");
  EXPECT_EQ(spending(100, 0), "1.00");
  EXPECT_EQ(spending(123'450, 0), "1234.50");
  EXPECT_EQ(spending(0, 99), "0.99");
  EXPECT_EQ(spending(-50, 0), "-0.50");
  EXPECT_EQ(spending(-12'345, 0), "-123.45");
  EXPECT_EQ(spending(kMaxCustomerSpendingCents, 0), "10000000000000000.00");
  // TotalSpendingCents holds a sum past int64 at the limit.
  EXPECT_EQ(spending(std::numeric_limits<int64_t>::max(), 1), "92233720368547758.07");
  EXPECT_EQ(spending(std::numeric_limits<int64_t>::min(), 0), "-92233720368547758.08");
}

TEST(MessageTemplateTest, SplitsTheNameAtTheFirstWord) {
  Customer c = Ada();
  auto first_last = [&](std::string name) {
    c.name = std::move(name);
    return Render("<{{firstName}}|{{lastName}}>", c);
  };
  EXPECT_EQ(first_last("Ada"), "<Ada|>");
  EXPECT_EQ(first_last("Mary Ann  Smith"), "<Mary|Ann  Smith>");
  EXPECT_EQ(first_last("  Jean-Luc\tPicard  "), "<Jean-Luc|Picard>");
  EXPECT_EQ(first_last("José Álvarez"), "<José|Álvarez>");
  EXPECT_EQ(first_last("山田\u3000太郎"), "<山田|太郎>");                  // ideographic space
  EXPECT_EQ(first_last("Anne\u00a0Marie Dupont"), "<Anne|Marie Dupont>");  // no-break space
  EXPECT_EQ(first_last("Zoë😀 Ng"), "<Zoë😀|Ng>");
  EXPECT_EQ(first_last(""), "<|>");
  EXPECT_EQ(first_last(" \u3000 "), "<|>");
}

TEST(MessageTemplateTest, DefaultReplacesAnEmptyValue) {
  Customer c = Ada();
  EXPECT_EQ(Render("Call {{phone | \"us\"}}", c), "Call us");
  EXPECT_EQ(Render("Hi {{lastName | \"friend\"}}", c), "Hi Lovelace");
  c.name = "Ada";
  EXPECT_EQ(Render("Dear {{lastName | \"customer\"}}", c), "Dear customer");
  c.phone = "";
  EXPECT_EQ(Render("Call {{phone | \"us\"}}", c), "Call us");
  c.phone = "555";
  EXPECT_EQ(Render("Call {{phone | \"us\"}}", c), "Call 555");
  c.phone.reset();
  EXPECT_EQ(Render("Call {{phone | \"\"}}.", c), "Call .");
  EXPECT_EQ(Render("{{phone|\"☎ none\"}}", c), "☎ none");
}

TEST(MessageTemplateTest, DefaultEscapes) {
  const Customer c = Ada();
  EXPECT_EQ(Render(R"({{phone | "say \"hi\""}})", c), R"(say "hi")");
  EXPECT_EQ(Render(R"({{phone | "back\\slash"}})", c), R"(back\slash)");
  EXPECT_EQ(Render(R"({{phone | "\\\""}})", c), R"(\")");
  EXPECT_EQ(Render(R"({{phone | "\\"}})", c), R"(\)");
  // Nothing else is interpreted in a default: braces and bars are literal.
  EXPECT_EQ(Render(R"({{phone | "{{email}} | }} {"}})", c), "{{email}} | }} {");
}

TEST(MessageTemplateTest, WhitespaceInsideBraces) {
  const Customer c = Ada();
  EXPECT_EQ(Render("{{ firstName }}", c), "Ada");
  EXPECT_EQ(Render("{{\tfirstName\n}}", c), "Ada");
  EXPECT_EQ(Render("{{ phone|\"x\" }}", c), "x");
  EXPECT_EQ(Render("{{phone   |   \"x\"   }}", c), "x");
  EXPECT_EQ(Render("{{phone|\"x\"}}", c), "x");
}

TEST(MessageTemplateTest, LiteralTextIsCopied) {
  const Customer c = Ada();
  EXPECT_EQ(Render("No placeholders at all.", c), "No placeholders at all.");
  EXPECT_EQ(Render("a { b } c {x} }} d", c), "a { b } c {x} }} d");
  EXPECT_EQ(Render("{ {{firstName}} }", c), "{ Ada }");
  EXPECT_EQ(Render("{{firstName}}}", c), "Ada}");
  EXPECT_EQ(Render("}}{{firstName}}{{lastName}}", c), "}}AdaLovelace");
  EXPECT_EQ(Render("  padded\n\tlines  ", c), "  padded\n\tlines  ");
  EXPECT_EQ(Render("Ünïcödé 😀 {{firstName}} ✓", c), "Ünïcödé 😀 Ada ✓");
}

TEST(MessageTemplateTest, SourceAndPlaceholders) {
  auto t = MessageTemplate::Parse(
      "{{ lastName }} {{firstName}} {{lastName|\"x\"}} {{email}} {{firstName}} {{totalSpending}}");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->source(),
            "{{ lastName }} {{firstName}} {{lastName|\"x\"}} {{email}} {{firstName}} "
            "{{totalSpending}}");
  EXPECT_EQ(t->placeholders(),
            (std::vector<std::string>{"lastName", "firstName", "email", "totalSpending"}));

  auto plain = MessageTemplate::Parse("Hello");
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->placeholders().empty());
  EXPECT_EQ(plain->Render(Ada()), "Hello");

  auto all = MessageTemplate::Parse(
      "{{name}}{{firstName}}{{lastName}}{{email}}{{phone}}{{totalSpending}}{{lastOrderAt}}");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->placeholders(),
            (std::vector<std::string>{"name", "firstName", "lastName", "email", "phone",
                                      "totalSpending", "lastOrderAt"}));
}

TEST(MessageTemplateTest, IsAValue) {
  std::optional<MessageTemplate> copy;
  {
    // Short enough for the small-string buffer: the copy must not point into the original.
    auto t = MessageTemplate::Parse("Hi {{firstName}}!");
    ASSERT_TRUE(t);
    copy = *t;
    MessageTemplate assigned = *MessageTemplate::Parse("{{email}}");
    assigned = *t;
    EXPECT_EQ(assigned, *t);
    EXPECT_EQ(assigned.Render(Ada()), "Hi Ada!");
  }
  EXPECT_EQ(copy->source(), "Hi {{firstName}}!");
  EXPECT_EQ(copy->Render(Ada()), "Hi Ada!");
  MessageTemplate moved = std::move(*copy);
  EXPECT_EQ(moved.Render(Ada()), "Hi Ada!");
}

TEST(MessageTemplateTest, ManyPlaceholders) {
  Customer c = Ada();
  c.phone = "555";
  // 30 × 24 + 10 × 17 = 890 characters.
  const std::string text =
      Repeat("{{firstName}},{{phone}};", 30) + Repeat("{{ email | \"-\" }}", 10);
  auto t = MessageTemplate::Parse(text);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->Render(c), Repeat("Ada,555;", 30) + Repeat("ada@example.com", 10));
  EXPECT_EQ(t->placeholders(), (std::vector<std::string>{"firstName", "phone", "email"}));
  c.phone.reset();
  EXPECT_EQ(t->Render(c), Repeat("Ada,;", 30) + Repeat("ada@example.com", 10));

  // Under a larger limit: 2000 placeholders side by side.
  auto large =
      MessageTemplate::Parse(Repeat("{{lastName|\"?\"}}{{name}}", 1000), "message", 30'000);
  ASSERT_TRUE(large);
  c.name = "Ada";
  EXPECT_EQ(large->Render(c), Repeat("?Ada", 1000));
}

TEST(MessageTemplateTest, LengthCountsCodePoints) {
  const std::string emoji = "😀";  // four bytes, one code point
  auto thousand = MessageTemplate::Parse(Repeat(emoji, 1000));
  ASSERT_TRUE(thousand);
  EXPECT_EQ(thousand->Render(Ada()), Repeat(emoji, 1000));
  EXPECT_EQ(Errors(Repeat(emoji, 1001)), One("Must be 1 to 1000 characters"));

  EXPECT_TRUE(MessageTemplate::Parse(Repeat("é", 1000)));
  EXPECT_EQ(Errors(Repeat("é", 1001)), One("Must be 1 to 1000 characters"));
  EXPECT_TRUE(MessageTemplate::Parse(Repeat("a", 1000)));
  EXPECT_EQ(Errors(Repeat("a", 1001)), One("Must be 1 to 1000 characters"));

  // Placeholders count as written.
  EXPECT_TRUE(MessageTemplate::Parse("{{name}}", "message", 8));
  EXPECT_EQ(Errors("{{name}}!", "message", 8), One("Must be 1 to 8 characters"));
  // Over the limit, the text is not read further.
  EXPECT_EQ(Errors("{{nme}} is too long", "message", 10), One("Must be 1 to 10 characters"));
}

TEST(MessageTemplateTest, EmptyOrBlankIsRefused) {
  EXPECT_EQ(Errors(""), One("Must be 1 to 1000 characters"));
  EXPECT_EQ(Errors(" \n\t "), One("Must not be blank"));
}

TEST(MessageTemplateTest, InvalidUtf8IsRefused) {
  EXPECT_EQ(Errors("Hi \xff {{name}}"), One("Must be valid UTF-8"));
  EXPECT_EQ(Errors("\xc0\xaf"), One("Must be valid UTF-8"));          // overlong "/"
  EXPECT_EQ(Errors("\xed\xa0\x80"), One("Must be valid UTF-8"));      // a surrogate
  EXPECT_EQ(Errors("\xe2\x82"), One("Must be valid UTF-8"));          // truncated
  EXPECT_EQ(Errors("\xf4\x90\x80\x80"), One("Must be valid UTF-8"));  // past U+10FFFF
  EXPECT_EQ(Errors(std::string_view("a\x80", 2)), One("Must be valid UTF-8"));
}

TEST(MessageTemplateTest, UnknownPlaceholderSuggestsTheClosest) {
  EXPECT_EQ(Errors("Hi {{frstName}}!"),
            One("Unknown placeholder \"{{frstName}}\" at character 4; did you mean "
                "\"{{firstName}}\"?"));
  EXPECT_EQ(Errors("{{ FirstName | \"x\" }}"),
            One("Unknown placeholder \"{{FirstName}}\" at character 1; did you mean "
                "\"{{firstName}}\"?"));
  EXPECT_EQ(Errors("{{emial}}"),
            One("Unknown placeholder \"{{emial}}\" at character 1; did you mean \"{{email}}\"?"));
  EXPECT_EQ(Errors("{{lastOrder}}"),
            One("Unknown placeholder \"{{lastOrder}}\" at character 1; did you mean "
                "\"{{lastOrderAt}}\"?"));
  EXPECT_EQ(Errors("{{last_name}}"),
            One("Unknown placeholder \"{{last_name}}\" at character 1; did you mean "
                "\"{{lastName}}\"?"));
  EXPECT_EQ(Errors("{{total spending}}"),
            One("Unknown placeholder \"{{total spending}}\" at character 1; did you mean "
                "\"{{totalSpending}}\"?"));
  // "{{" opens at the first of three braces.
  EXPECT_EQ(Errors("{{{name}}}"),
            One("Unknown placeholder \"{{{name}}\" at character 1; did you mean \"{{name}}\"?"));
  // The field is the caller's.
  EXPECT_EQ(Errors("{{phon}}", "campaign.message"),
            (std::vector<FieldError>{
                {"campaign.message",
                 "Unknown placeholder \"{{phon}}\" at character 1; did you mean \"{{phone}}\"?"}}));
}

TEST(MessageTemplateTest, UnclosedPlaceholder) {
  EXPECT_EQ(Errors("Hi {{firstName"),
            One("Unclosed \"{{\" at character 4; a placeholder ends with \"}}\""));
  EXPECT_EQ(Errors("Hi {{firstName}"),
            One("Unclosed \"{{\" at character 4; a placeholder ends with \"}}\""));
  EXPECT_EQ(Errors("Hi {{"), One("Unclosed \"{{\" at character 4; a placeholder ends with \"}}\""));
  EXPECT_EQ(Errors("{{phone |"),
            One("Unclosed \"{{\" at character 1; a placeholder ends with \"}}\""));
  EXPECT_EQ(Errors("{{phone | \"x\""),
            One("Unclosed \"{{\" at character 1; a placeholder ends with \"}}\""));
  EXPECT_EQ(Errors("{{phone | \"x\"  "),
            One("Unclosed \"{{\" at character 1; a placeholder ends with \"}}\""));
  // The next placeholder opens before this one closes: it is read on its own.
  EXPECT_EQ(Errors("Hi {{firstName, meet {{lastName}}"),
            One("Unclosed \"{{\" at character 4; a placeholder ends with \"}}\""));
}

TEST(MessageTemplateTest, EmptyPlaceholder) {
  const std::string expected =
      "; expected a name: name, firstName, lastName, email, phone, totalSpending, lastOrderAt or "
      "level";
  EXPECT_EQ(Errors("Hi {{}}"), One("Empty placeholder \"{{}}\" at character 4" + expected));
  EXPECT_EQ(Errors("{{ \t }}"), One("Empty placeholder \"{{}}\" at character 1" + expected));
  EXPECT_EQ(Errors("{{ | \"x\" }}"), One("Empty placeholder \"{{}}\" at character 1" + expected));
}

TEST(MessageTemplateTest, MalformedDefault) {
  EXPECT_EQ(Errors("Hi {{firstName | there}}!"),
            One("Malformed default of \"{{firstName}}\" at character 4: expected a "
                "double-quoted text after \"|\""));
  EXPECT_EQ(Errors("Hi {{firstName | 'there'}}!"),
            One("Malformed default of \"{{firstName}}\" at character 4: expected a "
                "double-quoted text after \"|\""));
  EXPECT_EQ(Errors("Hi {{firstName | }}!"),
            One("Malformed default of \"{{firstName}}\" at character 4: expected a "
                "double-quoted text after \"|\""));
  EXPECT_EQ(Errors("Hi {{firstName | \"there}}!"),
            One("Malformed default of \"{{firstName}}\" at character 4: the quoted text is not "
                "closed"));
  EXPECT_EQ(
      Errors(R"(Hi {{firstName | "a\nb"}}!)"),
      One(R"(Malformed default of "{{firstName}}" at character 4: only \" and \\ may follow a backslash)"));
  EXPECT_EQ(Errors(R"(Hi {{firstName | "a\"}}!)"),
            One("Malformed default of \"{{firstName}}\" at character 4: the quoted text is not "
                "closed"));
  EXPECT_EQ(Errors("Hi {{firstName | \"a\" \"b\"}}!"),
            One("Malformed default of \"{{firstName}}\" at character 4: expected \"}}\" after the "
                "quoted text"));
  EXPECT_EQ(Errors("Hi {{firstName | \"a\" | \"b\"}}!"),
            One("Malformed default of \"{{firstName}}\" at character 4: expected \"}}\" after the "
                "quoted text"));
  // After a malformed default, reading goes on at the next placeholder.
  EXPECT_EQ(Errors("{{firstName | there, meet {{lastNme}}"),
            (std::vector<FieldError>{
                {"message",
                 "Malformed default of \"{{firstName}}\" at character 1: expected a double-quoted "
                 "text after \"|\""},
                {"message",
                 "Unknown placeholder \"{{lastNme}}\" at character 27; did you mean "
                 "\"{{lastName}}\"?"}}));
}

TEST(MessageTemplateTest, ReportsEveryProblemInOrder) {
  // Positions count code points: "é" and "😀" are one character each.
  EXPECT_EQ(Errors("é😀 {{frstName}} {{}} {{email | x}} {{nme | oops}} {{phone"),
            (std::vector<FieldError>{
                {"message",
                 "Unknown placeholder \"{{frstName}}\" at character 4; did you mean "
                 "\"{{firstName}}\"?"},
                {"message",
                 "Empty placeholder \"{{}}\" at character 17; expected a name: name, firstName, "
                 "lastName, email, phone, totalSpending, lastOrderAt or level"},
                {"message",
                 "Malformed default of \"{{email}}\" at character 22: expected a double-quoted "
                 "text after \"|\""},
                {"message",
                 "Unknown placeholder \"{{nme}}\" at character 36; did you mean \"{{name}}\"?"},
                {"message",
                 "Malformed default of \"{{nme}}\" at character 36: expected a double-quoted text "
                 "after \"|\""},
                {"message", "Unclosed \"{{\" at character 51; a placeholder ends with \"}}\""},
            }));
}

TEST(MessageTemplateTest, LevelIsTheRecordedStanding) {
  Customer c = Ada();
  EXPECT_EQ(Render("You are {{level}}", c), "You are Bronze");  // nothing recorded yet
  c.standing.level = LoyaltyLevel::kGold;
  EXPECT_EQ(Render("You are {{ level }}.", c), "You are Gold.");
}

}  // namespace
}  // namespace keel
