// WriteSide: streams load in registration order and the first failure ends the load; process
// managers start in registration order and stop in the reverse order, in two waves around the
// wait for the streams' commands in flight.
#include "commands/write_side.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace keel {
namespace {

struct Journal {
  std::vector<std::string> lines;
};

struct TestStream {
  Journal& journal;
  std::string name;
  Status load_result;
  int64_t in_flight_now = 0;
  Status Load() {
    journal.lines.push_back("load " + name);
    return load_result;
  }
  int64_t in_flight() const { return in_flight_now; }
};

struct TestManager {
  Journal& journal;
  std::string name;
  TestStream* draining = nullptr;  // its commands in flight end when this manager stops
  void Start() { journal.lines.push_back("start " + name); }
  void Stop() {
    journal.lines.push_back("stop " + name);
    if (draining) draining->in_flight_now = 0;
  }
};

TEST(WriteSideTest, StreamsLoadInOrderAndTheFirstFailureEndsTheLoad) {
  Journal j;
  TestStream a{j, "a", {}}, b{j, "b", Fail(Error::DataLoss("b is damaged"))}, c{j, "c", {}};
  WriteSide side;
  side.AddStream(a);
  side.AddStream(b);
  side.AddStream(c);
  auto loaded = side.LoadStreams();
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().message, "b is damaged");
  EXPECT_EQ(j.lines, (std::vector<std::string>{"load a", "load b"}));
}

TEST(WriteSideTest, ManagersStartInOrderAndStopInReverseInTwoWavesAroundTheCommandsInFlight) {
  Journal j;
  TestStream stream{j, "s", {}, 2};
  TestManager markers{j, "markers"}, launcher{j, "launcher"}, keeper{j, "keeper", &stream},
      dispatcher{j, "dispatcher"};
  WriteSide side;
  side.AddStream(stream);
  side.AddProcessManager(markers, WriteSide::StopWave::kAfterCommands);
  side.AddProcessManager(launcher, WriteSide::StopWave::kAfterCommands);
  side.AddProcessManager(keeper, WriteSide::StopWave::kBeforeCommands);
  side.AddStoppable([&j] { j.lines.push_back("stop vendor"); },
                    WriteSide::StopWave::kBeforeCommands);
  side.AddProcessManager(dispatcher, WriteSide::StopWave::kBeforeCommands);
  ASSERT_TRUE(side.LoadStreams());
  side.StartProcessManagers();
  EXPECT_EQ(side.in_flight(), 2);
  side.Stop(std::chrono::steady_clock::now() + std::chrono::seconds(10));
  EXPECT_EQ(j.lines,
            (std::vector<std::string>{"load s", "start markers", "start launcher", "start keeper",
                                      "start dispatcher", "stop dispatcher", "stop vendor",
                                      "stop keeper", "stop launcher", "stop markers"}));
  EXPECT_EQ(side.in_flight(), 0);
}

TEST(WriteSideTest, TheWaitForCommandsInFlightEndsAtTheDeadline) {
  Journal j;
  TestStream stuck{j, "s", {}, 1};  // never drains
  TestManager launcher{j, "launcher"};
  WriteSide side;
  side.AddStream(stuck);
  side.AddProcessManager(launcher, WriteSide::StopWave::kAfterCommands);
  const auto start = std::chrono::steady_clock::now();
  side.Stop(start + std::chrono::milliseconds(50));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
  EXPECT_EQ(j.lines, (std::vector<std::string>{"stop launcher"}));
}

}  // namespace
}  // namespace keel
