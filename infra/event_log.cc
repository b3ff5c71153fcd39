#include "infra/event_log.h"

#include <algorithm>
#include <string>

namespace keel {

Result<std::vector<LogRecord>> EventLog::ReadAt(const std::string& topic, int32_t partition,
                                                const std::vector<int64_t>& offsets,
                                                std::chrono::milliseconds wait) {
  std::vector<LogRecord> out;
  if (offsets.empty()) return out;
  if (!std::is_sorted(offsets.begin(), offsets.end())) {
    return Fail(Error::InvalidArgument("Log offsets to read must ascend"));
  }
  auto reader = OpenReader(topic, {{partition, offsets.front()}});
  if (!reader) return Fail(reader.error());
  // Reading through a gap this short is cheaper than a seek.
  constexpr int64_t kMaxSkip = 64;
  constexpr int64_t kMaxPoll = 1024;
  auto where = [&](int64_t offset) {
    return topic + " partition " + std::to_string(partition) + " offset " + std::to_string(offset);
  };
  int64_t next = offsets.front();  // the offset the reader delivers next
  size_t i = 0;
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (i < offsets.size()) {
    const int64_t want = offsets[i];
    if (want < next || want - next > kMaxSkip) {
      if (auto st = (*reader)->Seek(partition, want); !st) return Fail(st.error());
      next = want;
    }
    // Up to the last wanted offset that this run can reach without a seek.
    size_t j = i;
    while (j + 1 < offsets.size() && offsets[j + 1] - offsets[j] <= kMaxSkip &&
           offsets[j + 1] - next < kMaxPoll) {
      ++j;
    }
    auto records =
        (*reader)->Poll(static_cast<size_t>(offsets[j] - next + 1), std::chrono::milliseconds(200));
    if (!records) return Fail(records.error());
    if (records->empty()) {
      if (std::chrono::steady_clock::now() >= deadline) {
        return Fail(Error::Unavailable("The log did not deliver " + where(want)));
      }
      continue;
    }
    for (auto& r : *records) {
      if (r.partition != partition) continue;
      next = r.offset + 1;
      if (i < offsets.size() && offsets[i] < r.offset) {
        return Fail(Error::DataLoss("The log no longer holds " + where(offsets[i])));
      }
      while (i < offsets.size() && offsets[i] == r.offset) {
        out.push_back(r);
        ++i;
      }
    }
    deadline = std::chrono::steady_clock::now() + wait;
  }
  return out;
}

Result<std::vector<int64_t>> EventLog::ReadFrom(
    const std::string& topic, const std::vector<int64_t>& from,
    const std::function<void(const LogRecord&)>& visit) {
  if (from.size() != static_cast<size_t>(PartitionCount())) {
    return Fail(Error::InvalidArgument("A read of " + topic + " needs a start in every partition"));
  }
  std::vector<std::pair<int32_t, int64_t>> starts;
  std::vector<int64_t> ends;
  for (int32_t p = 0; p < PartitionCount(); ++p) {
    auto end = EndOffset(topic, p);
    if (!end) return Fail(end.error());
    starts.emplace_back(p, from[static_cast<size_t>(p)]);
    ends.push_back(*end);
  }
  std::vector<int64_t> next = from;
  auto done = [&] {
    for (size_t p = 0; p < ends.size(); ++p) {
      if (next[p] < ends[p]) return false;
    }
    return true;
  };
  if (done()) return next;
  auto reader = OpenReader(topic, starts);
  if (!reader) return Fail(reader.error());
  while (!done()) {
    auto records = (*reader)->Poll(10000, std::chrono::milliseconds(500));
    if (!records) return Fail(records.error());
    for (const auto& r : *records) {
      if (r.offset < ends[static_cast<size_t>(r.partition)]) visit(r);
    }
    // From the reader, not from the last record: a partition may end in offsets without one.
    for (size_t p = 0; p < ends.size(); ++p) {
      next[p] = (*reader)->Position(static_cast<int32_t>(p));
    }
  }
  // Not past the ends: records after them were not handed over and are read from here next.
  for (size_t p = 0; p < ends.size(); ++p) next[p] = std::min(next[p], std::max(ends[p], from[p]));
  return next;
}

}  // namespace keel
