#include "domain/record_splitter.h"

#include <cstring>
#include <string>

namespace keel {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

BulkFormat DetectBulkFormat(std::string_view body, std::string_view content_type) {
  if (content_type.find("ndjson") != std::string_view::npos ||
      content_type.find("jsonlines") != std::string_view::npos) {
    return BulkFormat::kNdjson;
  }
  for (char c : body) {
    if (IsSpace(c)) continue;
    return c == '[' ? BulkFormat::kJsonArray : BulkFormat::kNdjson;
  }
  return BulkFormat::kNdjson;
}

RecordSplitter::RecordSplitter(std::string_view body, BulkFormat format)
    : body_(body), format_(format) {}

Error RecordSplitter::Malformed(std::string_view why) const {
  return Error::InvalidArgument("Request body is not a valid JSON array: " + std::string(why) +
                                " at byte " + std::to_string(pos_));
}

Result<bool> RecordSplitter::Next(std::string_view* record) {
  if (done_) return false;
  if (format_ == BulkFormat::kNdjson) return NextLine(record);
  return NextArrayElement(record);
}

bool RecordSplitter::NextLine(std::string_view* record) {
  while (pos_ < body_.size()) {
    const void* nl = std::memchr(body_.data() + pos_, '\n', body_.size() - pos_);
    const size_t end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - body_.data()) : body_.size();
    std::string_view line = body_.substr(pos_, end - pos_);
    pos_ = end + 1;
    while (!line.empty() && IsSpace(line.back())) line.remove_suffix(1);
    while (!line.empty() && IsSpace(line.front())) line.remove_prefix(1);
    if (!line.empty()) {
      *record = line;
      return true;
    }
  }
  done_ = true;
  return false;
}

Result<bool> RecordSplitter::NextArrayElement(std::string_view* record) {
  auto skip_space = [&] {
    while (pos_ < body_.size() && IsSpace(body_[pos_])) ++pos_;
  };
  skip_space();
  if (!started_) {
    if (pos_ >= body_.size() || body_[pos_] != '[') return Fail(Malformed("expected '['"));
    ++pos_;
    started_ = true;
    skip_space();
    if (pos_ < body_.size() && body_[pos_] == ']') {
      ++pos_;
      skip_space();
      if (pos_ != body_.size()) return Fail(Malformed("text after the array"));
      done_ = true;
      return false;
    }
  }
  if (pos_ >= body_.size()) return Fail(Malformed("the array is not closed"));
  // One element: strings skipped whole, brackets counted, a scalar ends at ',', ']' or space.
  const size_t start = pos_;
  int depth = 0;
  while (pos_ < body_.size()) {
    const char c = body_[pos_];
    if (c == '"') {
      for (++pos_; pos_ < body_.size() && body_[pos_] != '"'; ++pos_) {
        if (body_[pos_] == '\\') ++pos_;
      }
      if (pos_ >= body_.size()) return Fail(Malformed("unterminated string"));
      ++pos_;
      if (depth == 0) break;
      continue;
    }
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) break;  // the array's own ']'
      if (--depth == 0) {
        ++pos_;
        break;
      }
    } else if (depth == 0 && (c == ',' || IsSpace(c))) {
      break;
    }
    ++pos_;
  }
  if (depth != 0) return Fail(Malformed("unbalanced brackets"));
  *record = body_.substr(start, pos_ - start);
  if (record->empty()) return Fail(Malformed("missing element"));
  skip_space();
  if (pos_ >= body_.size()) return Fail(Malformed("the array is not closed"));
  if (body_[pos_] == ',') {
    ++pos_;
  } else if (body_[pos_] == ']') {
    ++pos_;
    skip_space();
    if (pos_ != body_.size()) return Fail(Malformed("text after the array"));
    done_ = true;
  } else {
    return Fail(Malformed("expected ',' or ']'"));
  }
  return true;
}

Result<size_t> RecordSplitter::Count(std::string_view body, BulkFormat format) {
  RecordSplitter splitter(body, format);
  size_t n = 0;
  std::string_view record;
  while (true) {
    auto more = splitter.Next(&record);
    if (!more) return Fail(more.error());
    if (!*more) return n;
    ++n;
  }
}

}  // namespace keel
