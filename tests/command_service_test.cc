// CommandService with the real embedded log beneath a fault-injecting decorator: requests with
// an Idempotency-Key whose first request is still being appended wait for its answer (bounded)
// instead of being refused, and never block the caller's thread.
#include "commands/command_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "domain/ids.h"
#include "infra/embedded_log.h"
#include "tests/faulty_log.h"
#include "tests/test_util.h"

namespace keel {
namespace {

// Collects the answers of several requests, in the order they come.
class Answers {
 public:
  CommandService::Done Expect() {
    return [this](Result<CommandOutcome> r) {
      std::lock_guard lock(mu_);
      got_.push_back(std::move(r));
      cv_.notify_all();
    };
  }
  // Waits (bounded) until `n` answers have come.
  bool AwaitCount(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return got_.size() >= n; });
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return got_.size();
  }
  std::vector<Result<CommandOutcome>> got() {
    std::lock_guard lock(mu_);
    return got_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Result<CommandOutcome>> got_;
};

class CommandServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = EmbeddedLog::Open({.dir = dir_.path() + "/log", .partitions = 2});
    ASSERT_TRUE(log) << log.error().message;
    log_ = std::move(*log);
    faulty_ = std::make_unique<FaultyLog>(*log_);
  }
  void Start(std::chrono::milliseconds duplicate_wait = CommandService::kDuplicateWait) {
    commands_ = std::make_unique<CommandService>(*faulty_, clock_, ids_, duplicate_wait);
    ASSERT_TRUE(commands_->Load());
  }
  void TearDown() override {
    commands_.reset();
    faulty_.reset();
  }
  CommandMeta Keyed(const std::string& key) {
    CommandMeta meta;
    meta.actor = "tester";
    meta.idempotency_key = key;
    return meta;
  }
  void Register(const std::string& email, const std::string& key, CommandService::Done done) {
    commands_->Register({.name = "N", .email = email}, Keyed(key), std::move(done));
  }
  int64_t Appended() {
    int64_t n = 0;
    for (int32_t p = 0; p < log_->PartitionCount(); ++p) {
      n += log_->EndOffset("keel.customers", p).value_or(0);
    }
    return n;
  }

  TempDir dir_;
  SystemClock clock_;
  UuidV7Generator ids_{clock_, 3};
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<FaultyLog> faulty_;
  std::unique_ptr<CommandService> commands_;
};

TEST_F(CommandServiceTest, DuplicatesWaitForTheFirstAndGetItsAnswer) {
  Start();
  faulty_->HoldAppends();
  Answers answers;
  Register("first@x.io", "k1", answers.Expect());
  ASSERT_EQ(faulty_->held(), 1u);
  // The same key, even with another body: the first request's answer.
  for (int i = 0; i < 5; ++i)
    Register("other" + std::to_string(i) + "@x.io", "k1", answers.Expect());
  EXPECT_EQ(answers.count(), 0u);  // nobody answered while the first is being written
  EXPECT_EQ(faulty_->held(), 1u);  // and nothing else was decided
  EXPECT_EQ(commands_->in_flight(), 6);
  faulty_->Release();
  ASSERT_TRUE(answers.AwaitCount(6));
  const auto got = answers.got();
  ASSERT_TRUE(got[0]) << got[0].error().message;
  for (const auto& r : got) {
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->created);
    EXPECT_EQ(r->json, got[0]->json);
    ASSERT_TRUE(r->position);
    EXPECT_EQ(r->position->first_offset, got[0]->position->first_offset);
    EXPECT_EQ(r->position->partition, got[0]->position->partition);
  }
  EXPECT_EQ(Appended(), 1);
  for (int i = 0; i < 100 && commands_->in_flight() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(commands_->in_flight(), 0);
  // Remembered from then on.
  Answers later;
  Register("late@x.io", "k1", later.Expect());
  ASSERT_TRUE(later.AwaitCount(1));
  EXPECT_EQ(later.got()[0]->json, got[0]->json);
  EXPECT_EQ(Appended(), 1);
}

TEST_F(CommandServiceTest, DuplicatesGetTheFirstsErrorAndTheKeyIsFreeAgain) {
  Start();
  faulty_->HoldAppends();
  Answers answers;
  Register("first@x.io", "k2", answers.Expect());
  for (int i = 0; i < 3; ++i) Register("first@x.io", "k2", answers.Expect());
  faulty_->ReleaseFailing(Error::Unavailable("The log is down"));
  ASSERT_TRUE(answers.AwaitCount(4));
  for (const auto& r : answers.got()) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
    EXPECT_EQ(r.error().message, "The log is down");
  }
  EXPECT_EQ(Appended(), 0);
  // Nothing was recorded under the key: a retry runs the command.
  Answers retry;
  Register("first@x.io", "k2", retry.Expect());
  ASSERT_TRUE(retry.AwaitCount(1));
  ASSERT_TRUE(retry.got()[0]) << retry.got()[0].error().message;
  EXPECT_TRUE(retry.got()[0]->created);
  EXPECT_EQ(Appended(), 1);
}

// The log wrote the first request's event but its answer was lost (a timeout after the
// write): the retry with the same key gets the first's effect, once, instead of deciding again
// (a second order, or a 409 for its own customer's email).
TEST_F(CommandServiceTest, ARetryAfterALostAnswerGetsTheEffectTheLogHolds) {
  Start();
  faulty_->HoldAppends();
  Answers first;
  Register("lost@x.io", "k-lost", first.Expect());
  faulty_->ReleaseLosingAnswers(Error::Unavailable("Timed out waiting for the log"));
  ASSERT_TRUE(first.AwaitCount(1));
  ASSERT_FALSE(first.got()[0]);
  EXPECT_EQ(Appended(), 1) << "the log holds the first request's event";

  Answers retry;
  Register("lost@x.io", "k-lost", retry.Expect());
  ASSERT_TRUE(retry.AwaitCount(1));
  ASSERT_TRUE(retry.got()[0]) << retry.got()[0].error().message;
  EXPECT_TRUE(retry.got()[0]->created);
  EXPECT_EQ(Appended(), 1) << "the retry appended nothing";
  // And it is remembered: a third try gets the same answer at once.
  Answers third;
  Register("lost@x.io", "k-lost", third.Expect());
  ASSERT_TRUE(third.AwaitCount(1));
  ASSERT_TRUE(third.got()[0]);
  EXPECT_EQ(third.got()[0]->json, retry.got()[0]->json);
}

TEST_F(CommandServiceTest, ADuplicateWaitsBoundedThenGetsUnavailable) {
  Start(std::chrono::milliseconds(100));
  faulty_->HoldAppends();
  Answers first, duplicate;
  Register("slow@x.io", "k3", first.Expect());
  const auto sent = std::chrono::steady_clock::now();
  Register("slow@x.io", "k3", duplicate.Expect());
  ASSERT_TRUE(duplicate.AwaitCount(1));
  EXPECT_GE(std::chrono::steady_clock::now() - sent, std::chrono::milliseconds(100));
  ASSERT_FALSE(duplicate.got()[0]);
  EXPECT_EQ(duplicate.got()[0].error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(first.count(), 0u);
  faulty_->Release();
  ASSERT_TRUE(first.AwaitCount(1));
  ASSERT_TRUE(first.got()[0]) << first.got()[0].error().message;
  Answers again;
  Register("slow@x.io", "k3", again.Expect());
  ASSERT_TRUE(again.AwaitCount(1));
  ASSERT_TRUE(again.got()[0]);
  EXPECT_EQ(again.got()[0]->json, first.got()[0]->json);
  EXPECT_EQ(Appended(), 1);
}

// A key in flight holds back only its own duplicates: requests with other keys or none are
// decided and sent to the log meanwhile. A request refused before anything was appended (here:
// a taken email) leaves no answer under its key.
TEST_F(CommandServiceTest, RequestsWithoutAKeyOrWithOthersAreNotHeldBack) {
  Start();
  faulty_->HoldAppends();
  Answers keyed, other, unkeyed;
  Register("a@x.io", "k4", keyed.Expect());
  Register("b@x.io", "k5", other.Expect());
  Register("c@x.io", "", unkeyed.Expect());
  EXPECT_EQ(faulty_->held(), 3u);  // all three decided and sent to the log
  faulty_->Release();
  ASSERT_TRUE(keyed.AwaitCount(1));
  ASSERT_TRUE(other.AwaitCount(1));
  ASSERT_TRUE(unkeyed.AwaitCount(1));
  Answers taken;
  Register("a@x.io", "k6", taken.Expect());
  ASSERT_TRUE(taken.AwaitCount(1));
  ASSERT_FALSE(taken.got()[0]);
  EXPECT_EQ(taken.got()[0].error().code, ErrorCode::kAlreadyExists);
  Answers retaken;
  Register("z@x.io", "k6", retaken.Expect());  // k6 was not remembered: it ran
  ASSERT_TRUE(retaken.AwaitCount(1));
  EXPECT_TRUE(retaken.got()[0]);
  EXPECT_EQ(Appended(), 4);
}

}  // namespace
}  // namespace keel
