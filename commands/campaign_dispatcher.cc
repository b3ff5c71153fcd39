#include "commands/campaign_dispatcher.h"

#include <algorithm>
#include <future>
#include <memory>
#include <tuple>
#include <unordered_map>

#include "infra/log.h"

namespace keel {
namespace {

// The failure reason of a message given up (the campaign's reason says why).
constexpr std::string_view kNotSent = "not_sent";

// The answers to one chunk, filled by the sender's callbacks (which may outlive the wait).
struct ChunkAnswers {
  std::mutex mu;
  std::condition_variable answered;
  std::unordered_map<std::string, SendReport> by_id;  // guarded by mu
};

// Two answers to the same chunk (the same range, sent twice because the first one's record
// failed), as one: a recipient the vendor answered in either (accepted or rejected) keeps that
// answer, the first one first; only one it answered in neither stays given up. `sent` counts the
// same either way (accepted + duplicates).
MessagesSent Merge(const MessagesSent& first, const MessagesSent& again) {
  auto total = [](const MessagesSent& m) {
    return m.accepted + m.duplicates + static_cast<int64_t>(m.rejected.size() + m.gave_up.size());
  };
  // Not the same recipients after all (the page read again differs): the later answers stand.
  if (total(first) != total(again)) return again;
  MessagesSent merged = first;
  if (first.gave_up.empty()) return merged;
  auto find = [](const std::vector<MessagesSent::Rejection>& list, const std::string& customer) {
    auto it = std::ranges::find(list, customer, &MessagesSent::Rejection::customer_id);
    return it == list.end() ? nullptr : &*it;
  };
  merged.gave_up.clear();
  for (const auto& g : first.gave_up) {
    if (find(again.gave_up, g.customer_id)) {
      merged.gave_up.push_back(g);
    } else if (const auto* rejected = find(again.rejected, g.customer_id)) {
      merged.rejected.push_back(*rejected);
    } else {
      ++merged.accepted;  // accepted the second time
    }
  }
  return merged;
}

}  // namespace

CampaignDispatcher::CampaignDispatcher(CampaignService& campaigns, MessageSender& sender,
                                       Clock& clock, Options options, NextMessages next,
                                       ReadCampaign read)
    : campaigns_(campaigns),
      sender_(sender),
      clock_(clock),
      options_(options),
      next_(std::move(next)),
      read_(std::move(read)),
      loop_(options_.poll_interval, [this] { (void)RunOnce(); }) {}

CampaignDispatcher::~CampaignDispatcher() { Stop(); }

void CampaignDispatcher::Start() { loop_.Start(); }
void CampaignDispatcher::Stop() { loop_.Stop(); }
void CampaignDispatcher::Changed() { loop_.Wake(); }
void CampaignDispatcher::ReceiptsMoved() {
  if (awaiting_receipts_.load(std::memory_order_relaxed)) loop_.Wake();
}
bool CampaignDispatcher::stopping() const { return loop_.stopping(); }

CampaignDispatcher::Stats CampaignDispatcher::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

CommandMeta CampaignDispatcher::SystemMeta() const {
  CommandMeta meta;
  meta.now = clock_.NowMillis();
  meta.actor = "system:dispatcher";
  return meta;
}

Status CampaignDispatcher::AwaitRecorded(const std::string& campaign_id) {
  auto it = recording_.find(campaign_id);
  if (it == recording_.end()) return {};
  auto out = it->second.answered.get();
  if (!out) Keep(campaign_id, std::move(it->second.sent));
  recording_.erase(it);
  if (!out) return Fail(out.error());
  return {};
}

MessagesSent* CampaignDispatcher::FindKept(const std::string& campaign_id,
                                           const MessagesSent& chunk) {
  auto it = unrecorded_.find(campaign_id);
  if (it == unrecorded_.end()) return nullptr;
  for (MessagesSent& k : it->second) {
    if (k.after == chunk.after && k.through == chunk.through) return &k;
  }
  return nullptr;
}

void CampaignDispatcher::Keep(const std::string& campaign_id, MessagesSent sent) {
  // A chunk sent again from the same cursor covers the same messages: their answers are merged
  // (and the list stays as short as the distinct chunks however long the log refuses).
  if (MessagesSent* kept = FindKept(campaign_id, sent)) {
    *kept = Merge(*kept, sent);
    return;
  }
  unrecorded_[campaign_id].push_back(std::move(sent));
}

void CampaignDispatcher::DropRecorded(const std::string& campaign_id, const std::string& cursor) {
  auto it = unrecorded_.find(campaign_id);
  if (it == unrecorded_.end()) return;
  // Customer ids order the messages: a chunk through the cursor or before it is recorded.
  std::erase_if(it->second, [&](const MessagesSent& k) { return k.through <= cursor; });
  if (it->second.empty()) unrecorded_.erase(it);
}

Status CampaignDispatcher::RecordKept(const std::string& campaign_id) {
  if (!unrecorded_.contains(campaign_id)) return {};
  campaigns_.Refresh(campaign_id);  // the cursor as the log has it
  auto now = campaigns_.Find(campaign_id);
  if (!now) {
    unrecorded_.erase(campaign_id);
    return {};
  }
  std::string cursor = now->dispatch_cursor;
  DropRecorded(campaign_id, cursor);
  auto it = unrecorded_.find(campaign_id);
  if (it == unrecorded_.end()) return {};
  // In cursor order, each chunk that starts where the cursor is.
  std::vector<MessagesSent>& kept = it->second;
  // Of two that start at one place (a page read again that differs), the longer first.
  std::sort(kept.begin(), kept.end(), [](const MessagesSent& a, const MessagesSent& b) {
    return std::tie(a.after, b.through) < std::tie(b.after, a.through);
  });
  Status failed;
  bool ended = false;
  for (const MessagesSent& k : kept) {
    if (k.after != cursor) continue;
    auto out = AwaitCampaignCommand([&](CampaignService::Done done) {
      campaigns_.RecordMessagesSent(campaign_id, k, SystemMeta(), std::move(done));
    });
    // The campaign ended meanwhile (Failed or Sent): it takes no record any more.
    ended = !out && out.error().code == ErrorCode::kFailedPrecondition;
    if (!out) {
      if (!ended) failed = Fail(out.error());  // the rest kept for the next try
      break;
    }
    cursor = k.through;
  }
  if (ended) {
    unrecorded_.erase(it);
    return {};
  }
  DropRecorded(campaign_id, cursor);
  return failed;
}

Result<bool> CampaignDispatcher::FailUnreadable(const Campaign& c, const std::string& reason) {
  // What the vendor accepted is recorded first: the chunk on its way lands, and those whose
  // record failed are recorded again (they cannot be sent again: their page cannot be read).
  if (auto st = AwaitRecorded(c.id); !st) {
    Log(LogLevel::kWarn, "chunk record failed; recorded again before the campaign fails",
        {{"campaign", c.id}, {"error", st.error().message}});
  }
  if (auto st = RecordKept(c.id); !st) return Fail(st.error());
  auto now = campaigns_.Find(c.id);
  if (!now || now->state != CampaignState::kRunning || !now->audience) return true;
  // Every message answered already: nothing is left to send, and its receipts complete it.
  if (now->sent + now->rejected >= now->audience->queued) return false;
  Log(LogLevel::kWarn, "campaign failed: its audience cannot be read",
      {{"campaign", c.id}, {"reason", reason}});
  if (auto st = FailCampaign(campaigns_, c.id, reason, SystemMeta()); !st) return Fail(st.error());
  return true;  // the next pass finds it Failed
}

Result<bool> CampaignDispatcher::DispatchChunk(const Campaign& c) {
  // The chunk before, while its record is on its way, ends where this one starts.
  auto pending = recording_.find(c.id);
  const std::string after =
      pending != recording_.end() ? pending->second.through : c.dispatch_cursor;
  auto messages = next_(c.id, after, options_.chunk_size);
  if (!messages && messages.error().code == ErrorCode::kFailedPrecondition) {
    // A partition answers that it cannot resolve the frozen audience (a rebuild under a build
    // that refuses the campaign's message): no retry mends that.
    return FailUnreadable(c, messages.error().message);
  }
  if (!messages) return Fail(messages.error());
  if (messages->empty()) {
    if (pending == recording_.end()) return false;
    // The last chunk's record first: the next pass sees the cursor moved and completes.
    if (auto st = AwaitRecorded(c.id); !st) return Fail(st.error());
    return true;
  }
  // The record before already answered: a failure is noticed before anything more is sent.
  if (pending != recording_.end() &&
      pending->second.answered.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
    if (auto st = AwaitRecorded(c.id); !st) return Fail(st.error());
  }
  const size_t n = messages->size();
  std::vector<std::pair<std::string, std::string>> order;  // message id, customer id
  order.reserve(n);
  for (const auto& m : *messages) order.emplace_back(m.id, m.customer_id);
  {
    std::lock_guard lock(mu_);
    stats_.in_flight += n;
  }
  auto answers = std::make_shared<ChunkAnswers>();
  sender_.Send(std::move(*messages), [answers](std::vector<SendReport> reports) {
    {
      std::lock_guard lock(answers->mu);
      for (auto& r : reports) answers->by_id[r.id] = std::move(r);
    }
    answers->answered.notify_all();
  });
  // Waits for every answer; a Stop abandons the chunk, to be re-sent from the cursor.
  std::unordered_map<std::string, SendReport> by_id;
  for (;;) {
    std::unique_lock lock(answers->mu);
    answers->answered.wait_for(lock, std::chrono::milliseconds(50),
                               [&] { return answers->by_id.size() >= n; });
    if (answers->by_id.size() >= n) {
      by_id = std::move(answers->by_id);
      break;
    }
    lock.unlock();
    if (stopping()) {
      std::lock_guard guard(mu_);
      stats_.in_flight -= n;
      return true;
    }
  }
  // Every message of the chunk has its answer; one given up fails the campaign once the chunk
  // is recorded (the others the vendor accepted are sent, and get their receipts).
  MessagesSent sent;
  sent.after = after;
  sent.through = order.back().second;
  std::optional<std::string> gave_up;
  for (const auto& [id, customer] : order) {
    auto it = by_id.find(id);
    if (it == by_id.end() || it->second.answer == SendAnswer::kGaveUp) {
      if (!gave_up) gave_up = it == by_id.end() ? std::string("no answer") : it->second.reason;
      sent.gave_up.push_back({customer, std::string(kNotSent)});
      continue;
    }
    const SendReport& r = it->second;
    if (r.answer == SendAnswer::kAccepted) {
      ++(r.duplicate ? sent.duplicates : sent.accepted);
    } else {
      sent.rejected.push_back({customer, r.reason});
    }
  }
  {
    std::lock_guard lock(mu_);
    stats_.in_flight -= n;
    ++stats_.chunks;
    stats_.sent += static_cast<uint64_t>(sent.accepted);
    stats_.duplicates += static_cast<uint64_t>(sent.duplicates);
    stats_.rejected += sent.rejected.size();
    stats_.gave_up += sent.gave_up.size();
  }
  // Sent again after a failed record: what the vendor accepted the first time stands (one given
  // up now but accepted then does not fail the campaign).
  if (const MessagesSent* kept = FindKept(c.id, sent)) {
    sent = Merge(*kept, sent);
    if (sent.gave_up.empty()) gave_up.reset();
  }
  if (stopping() && gave_up) return true;  // "stopped": re-sent at the next start
  // Chunks are recorded in order: the one before first. If its record failed, this chunk is not
  // recorded either; both are sent again from the cursor (the vendor deduplicates them), and
  // both are kept meanwhile, in case their page can no longer be read.
  if (auto st = AwaitRecorded(c.id); !st) {
    Keep(c.id, std::move(sent));
    return Fail(st.error());
  }
  // After a failure the campaign's chunks are recorded one at a time again, so that a log that
  // refuses appends is handed one chunk per try.
  if (!gave_up && !retries_.contains(c.id)) {
    // Recorded while the next chunk is read and sent (the log's fsync beside the vendor's round
    // trip); the next chunk's record waits for this one.
    auto promise = std::make_shared<std::promise<Result<CampaignOutcome>>>();
    PendingRecord& record = recording_[c.id];
    record.answered = promise->get_future();
    record.through = sent.through;
    campaigns_.RecordMessagesSent(c.id, sent, SystemMeta(), [promise](Result<CampaignOutcome> out) {
      promise->set_value(std::move(out));
    });
    record.sent = std::move(sent);
    return true;
  }
  {
    auto out = AwaitCampaignCommand([&](CampaignService::Done done) {
      campaigns_.RecordMessagesSent(c.id, sent, SystemMeta(), std::move(done));
    });
    if (!out) {
      Keep(c.id, std::move(sent));
      return Fail(out.error());
    }
  }
  if (gave_up) {
    std::string reason = "The vendor did not accept the messages: ";
    reason += *gave_up;
    Log(LogLevel::kWarn, "campaign failed: the vendor gave up",
        {{"campaign", c.id}, {"reason", reason}});
    if (auto st = FailCampaign(campaigns_, c.id, std::move(reason), SystemMeta()); !st) {
      return Fail(st.error());
    }
  }
  return true;
}

void CampaignDispatcher::RetryLater(const std::string& campaign_id, const Status& failure) {
  Retry& retry = retries_[campaign_id];
  const int64_t delay =
      std::min<int64_t>(options_.max_retry_delay.count(), options_.retry_delay.count()
                                                              << std::min(retry.failures, 20));
  ++retry.failures;
  // From now, not the pass's start: the chunk may have waited minutes on the vendor.
  retry.not_before = clock_.NowMillis() + delay;
  Log(LogLevel::kWarn, "dispatch failed",
      {{"campaign", campaign_id},
       {"error", failure.error().message},
       {"retry_in_ms", std::to_string(delay)}});
}

Status CampaignDispatcher::MaybeComplete(const Campaign& c) {
  auto read = read_(c.id);
  if (!read) return Fail(read.error());
  if (!*read || !(*read)->audience) return {};
  const Campaign& r = **read;
  // Fully dispatched as the read side has it too, and every recipient terminal there.
  if (r.dispatch_cursor != c.dispatch_cursor) return {};
  if (r.delivered + r.failed + r.rejected < r.audience->queued) return {};
  auto out = AwaitCampaignCommand([&](CampaignService::Done done) {
    campaigns_.Complete(c.id, SystemMeta(), std::move(done));
  });
  if (!out) return Fail(out.error());
  return {};
}

Status CampaignDispatcher::RunOnce() {
  Status first;
  bool worked = false, awaiting = false;
  const Millis now = clock_.NowMillis();
  for (const Campaign& c : campaigns_.Campaigns()) {
    if (stopping()) break;
    if (c.state != CampaignState::kRunning || !c.audience) {
      // Paused (or ended) with a chunk's record on its way: it lands, and nothing follows it.
      if (auto st = AwaitRecorded(c.id); !st && first) first = st;
      // Cancelled with chunks whose record failed: recorded now, retried like a chunk until they
      // are (a Paused one keeps them for its resume, which sends them again; a Failed or Sent
      // one takes no record).
      if (c.state == CampaignState::kCancelled && unrecorded_.contains(c.id)) {
        auto retry = retries_.find(c.id);
        if (retry != retries_.end() && now < retry->second.not_before) continue;
        if (auto st = RecordKept(c.id); !st) {
          RetryLater(c.id, st);
          if (first) first = st;
        } else {
          retries_.erase(c.id);
          unrecorded_.erase(c.id);  // what follows its cursor is recorded; the rest never can be
        }
        continue;
      }
      retries_.erase(c.id);
      if (c.state != CampaignState::kPaused) unrecorded_.erase(c.id);
      continue;
    }
    if (auto it = retries_.find(c.id); it != retries_.end()) {
      if (now < it->second.not_before) continue;
      // A retry: the campaign read again first (see below), now that the failed append has
      // long been answered and no longer counts as in flight.
      campaigns_.Refresh(c.id);
    }
    Status st;
    auto chunk = DispatchChunk(c);
    if (!chunk) {
      st = Fail(chunk.error());
    } else if (*chunk) {
      worked = true;
    } else {
      awaiting_receipts_.store(true, std::memory_order_relaxed);  // a commit meanwhile wakes us
      st = MaybeComplete(c);
      awaiting = true;  // until a pass finds it Sent
    }
    if (!st) {
      // The record may have failed only on its way back (the log wrote it): the service's copy
      // is then behind the log, and every retry from its cursor would be refused as Aborted.
      campaigns_.Refresh(c.id);
      RetryLater(c.id, st);
      if (first) first = st;
    } else {
      retries_.erase(c.id);
      // Chunks kept after a failed record are recorded by now if they were sent again.
      if (unrecorded_.contains(c.id)) {
        if (auto now = campaigns_.Find(c.id)) DropRecorded(c.id, now->dispatch_cursor);
      }
    }
  }
  awaiting_receipts_.store(awaiting, std::memory_order_relaxed);
  if (worked) loop_.Wake();  // the next chunk at once
  return first;
}

}  // namespace keel
