#include "infra/kafka_topic_policy.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

std::map<std::string, std::string> KeepsEverything() {
  return {{"cleanup.policy", "delete"}, {"retention.ms", "-1"}, {"retention.bytes", "-1"}};
}

TEST(KafkaTopicPolicyTest, ReplicationFactorDefaultsToTheSmallerOfThreeAndTheBrokers) {
  EXPECT_EQ(ReplicationFactorFor(0, 1), 1);
  EXPECT_EQ(ReplicationFactorFor(0, 2), 2);
  EXPECT_EQ(ReplicationFactorFor(0, 3), 3);
  EXPECT_EQ(ReplicationFactorFor(0, 9), 3);
  EXPECT_EQ(ReplicationFactorFor(0, 0), 1);  // metadata listed no broker: let the broker refuse
  EXPECT_EQ(ReplicationFactorFor(5, 9), 5);
  EXPECT_EQ(ReplicationFactorFor(2, 1), 2);  // an explicit setting is kept; the broker refuses it
}

TEST(KafkaTopicPolicyTest, NewTopicsNeverExpireAndAreWrittenToTwoReplicasOfThree) {
  auto one = NewTopicConfig(1);
  std::map<std::string, std::string> config(one.begin(), one.end());
  EXPECT_TRUE(CheckKeepsEveryEvent("t", config));
  EXPECT_EQ(config.count("min.insync.replicas"), 0u);
  auto three = NewTopicConfig(3);
  config = {three.begin(), three.end()};
  EXPECT_TRUE(CheckKeepsEveryEvent("t", config));
  EXPECT_EQ(config["min.insync.replicas"], "2");
}

TEST(KafkaTopicPolicyTest, ATopicThatDeletesOldEventsIsRefusedByName) {
  auto config = KeepsEverything();
  config["retention.ms"] = "604800000";  // Kafka's default: seven days
  auto st = CheckKeepsEveryEvent("keel.customers", config);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(st.error().message.find("keel.customers"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("retention.ms=604800000"), std::string::npos);

  config = KeepsEverything();
  config["retention.bytes"] = "1073741824";
  st = CheckKeepsEveryEvent("keel.users", config);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(st.error().message.find("keel.users has retention.bytes=1073741824"), std::string::npos)
      << st.error().message;
}

TEST(KafkaTopicPolicyTest, ACompactedTopicIsRefused) {
  for (const char* policy : {"compact", "delete,compact", "compact, delete"}) {
    auto config = KeepsEverything();
    config["cleanup.policy"] = policy;
    auto st = CheckKeepsEveryEvent("keel.customers", config);
    ASSERT_FALSE(st) << policy;
    EXPECT_EQ(st.error().code, ErrorCode::kFailedPrecondition);
    EXPECT_NE(st.error().message.find("cleanup.policy=" + std::string(policy)), std::string::npos)
        << st.error().message;
  }
}

TEST(KafkaTopicPolicyTest, WhatTheBrokerDidNotReportCountsAsDeleting) {
  auto config = KeepsEverything();
  config.erase("retention.ms");
  auto st = CheckKeepsEveryEvent("keel.customers", config);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("retention.ms"), std::string::npos);
  config = KeepsEverything();
  config["cleanup.policy"] = "archive";
  EXPECT_FALSE(CheckKeepsEveryEvent("keel.customers", config));
  config = KeepsEverything();
  config.erase("cleanup.policy");  // Kafka's default is delete
  EXPECT_TRUE(CheckKeepsEveryEvent("keel.customers", config));
}

}  // namespace
}  // namespace keel
