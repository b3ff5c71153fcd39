// JsonWriter: an append-only JSON text builder, the fast writer behind every event and response.
// It tracks commas itself; the caller is responsible for balanced Begin/End calls. Not
// thread-safe; one per output.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace keel {

void AppendJsonString(std::string& out, std::string_view s);
// Integral cents as a decimal with two places: 1234 → "12.34".
void AppendCents(std::string& out, int64_t cents);
std::string FormatCents(int64_t cents);

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view k);
  JsonWriter& String(std::string_view v);
  JsonWriter& Int(int64_t v);
  JsonWriter& Double(double v);
  JsonWriter& Bool(bool v);
  JsonWriter& Null();
  // Amounts are integral cents; written as a JSON number with two decimals.
  JsonWriter& Cents(int64_t cents);
  // Inserts already-valid JSON text as one value.
  JsonWriter& Raw(std::string_view json);
  // Inserts already-valid object members ("a":1,"b":2) into the open object; "" adds none.
  JsonWriter& RawMembers(std::string_view members);

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Separate();
  std::string out_;
  std::vector<bool> first_;  // one entry per open container: nothing written in it yet
  bool after_key_ = false;
};

}  // namespace keel
