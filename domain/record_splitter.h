// RecordSplitter: walks a bulk-ingestion body record by record without parsing the records:
// the elements of a JSON array, or the non-blank lines of NDJSON. Each record is then parsed
// and validated on its own, so one bad record rejects only itself. Pure; the body must outlive
// the splitter. Not thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

#include "domain/error.h"

namespace keel {

enum class BulkFormat { kJsonArray, kNdjson };

// application/x-ndjson (or a body not starting with '['): NDJSON; otherwise a JSON array.
BulkFormat DetectBulkFormat(std::string_view body, std::string_view content_type);

class RecordSplitter {
 public:
  RecordSplitter(std::string_view body, BulkFormat format);

  // The next record, or false at the end. kInvalidArgument when a JSON array's structure is
  // broken (unterminated string, missing comma, unbalanced brackets, text after the array):
  // nothing after that point can be delimited.
  Result<bool> Next(std::string_view* record);

  // Walks the whole body once: the number of records, or the structural error. Cheap; lets a
  // caller refuse a broken body before acting on any of it.
  static Result<size_t> Count(std::string_view body, BulkFormat format);

 private:
  Result<bool> NextArrayElement(std::string_view* record);
  bool NextLine(std::string_view* record);
  Error Malformed(std::string_view why) const;

  std::string_view body_;
  BulkFormat format_;
  size_t pos_ = 0;
  bool started_ = false;
  bool done_ = false;
};

}  // namespace keel
