#include "commands/idempotent_answers.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>

namespace keel {
namespace {

struct Answer {
  int value = 0;
  std::optional<int> position;
};

class StepClock final : public Clock {
 public:
  Millis NowMillis() override { return now; }
  std::atomic<Millis> now{1'000'000'000};
};

class IdempotentAnswersTest : public ::testing::Test {
 protected:
  // A first request with `key` that succeeds with `value`.
  void Answered(IdempotentAnswers<Answer>& answers, const std::string& key, int value) {
    auto holder = answers.Begin(key, [](Result<Answer>) {});
    ASSERT_TRUE(holder);
    (*holder)(Answer{value, 1});
  }
  // The remembered answer of `key`, or nullopt when a request with it would decide anew.
  std::optional<int> Remembered(IdempotentAnswers<Answer>& answers, const std::string& key) {
    std::optional<int> got;
    auto holder = answers.Begin(key, [&](Result<Answer> r) { got = r->value; });
    if (holder) {
      (*holder)(Fail(Error::Unavailable("probe")));  // frees the key again
      return std::nullopt;
    }
    return got;
  }

  StepClock clock_;
  std::atomic<int64_t> in_flight_{0};
};

TEST_F(IdempotentAnswersTest, KeepsTheLatestAnswersUpToItsCap) {
  IdempotentAnswers<Answer> answers(clock_, in_flight_, std::chrono::milliseconds(100), 3);
  for (int i = 0; i < 5; ++i) {
    clock_.now += 1;
    std::string key = "k";
    key += std::to_string(i);
    Answered(answers, key, i);
  }
  EXPECT_EQ(Remembered(answers, "k0"), std::nullopt);
  EXPECT_EQ(Remembered(answers, "k1"), std::nullopt);
  EXPECT_EQ(Remembered(answers, "k2"), 2);
  EXPECT_EQ(Remembered(answers, "k3"), 3);
  EXPECT_EQ(Remembered(answers, "k4"), 4);
}

TEST_F(IdempotentAnswersTest, ForgetsAnswersAfterTheWindowButNotOnesRememberedAgain) {
  IdempotentAnswers<Answer> answers(clock_, in_flight_, std::chrono::milliseconds(100));
  Answered(answers, "old", 1);
  answers.FoundInLog("again", Answer{2, 1}, clock_.now);
  clock_.now += IdempotentAnswers<Answer>::kWindow / 2;
  answers.FoundInLog("again", Answer{3, 1}, clock_.now);  // a reload found it again, later
  clock_.now += IdempotentAnswers<Answer>::kWindow / 2 + 1;
  Answered(answers, "new", 4);  // remembering prunes
  EXPECT_EQ(Remembered(answers, "old"), std::nullopt);
  EXPECT_EQ(Remembered(answers, "again"), 3);
  EXPECT_EQ(Remembered(answers, "new"), 4);
}

}  // namespace
}  // namespace keel
