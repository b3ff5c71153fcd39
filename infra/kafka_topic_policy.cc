#include "infra/kafka_topic_policy.h"

#include <algorithm>
#include <optional>
#include <sstream>

namespace keel {

int ReplicationFactorFor(int configured, int brokers) {
  if (configured > 0) return configured;
  return std::clamp(brokers, 1, 3);
}

std::vector<std::pair<std::string, std::string>> NewTopicConfig(int replication_factor) {
  std::vector<std::pair<std::string, std::string>> config{
      {"cleanup.policy", "delete"},  // with both retentions at -1, "delete" deletes nothing
      {"retention.ms", "-1"},
      {"retention.bytes", "-1"}};
  if (replication_factor >= 3) config.emplace_back("min.insync.replicas", "2");
  return config;
}

Status CheckKeepsEveryEvent(const std::string& topic,
                            const std::map<std::string, std::string>& config) {
  auto refuse = [&](const std::string& name, const std::string& value, const std::string& why) {
    return Fail(Error::FailedPrecondition(
        "Kafka topic " + topic + " has " + name + "=" + value + ": " + why +
        ". Keel's log is the truth and must keep every event; Keel will not start on it "
        "until it does (kafka-configs.sh --alter --entity-type topics --entity-name " +
        topic + " --add-config retention.ms=-1,retention.bytes=-1,cleanup.policy=delete)"));
  };
  auto value = [&](const std::string& name) -> std::optional<std::string> {
    auto it = config.find(name);
    if (it == config.end()) return std::nullopt;
    return it->second;
  };
  // Kafka's defaults are retention.ms=604800000 (7 days) and cleanup.policy=delete: a missing
  // entry is never taken for "keeps everything".
  const std::string policy = value("cleanup.policy").value_or("delete");
  std::stringstream parts(policy);
  for (std::string part; std::getline(parts, part, ',');) {
    part.erase(0, part.find_first_not_of(' '));
    part.erase(part.find_last_not_of(' ') + 1);
    if (part == "compact") {
      return refuse("cleanup.policy", policy,
                    "compaction keeps only the last event of each key and deletes the rest");
    }
    if (part != "delete") return refuse("cleanup.policy", policy, "Keel does not know this policy");
  }
  for (const char* name : {"retention.ms", "retention.bytes"}) {
    auto v = value(name);
    if (!v)
      return refuse(name, "(not reported)", "the broker did not say how long it keeps events");
    if (*v != "-1") return refuse(name, *v, "events older or beyond that are deleted");
  }
  return {};
}

}  // namespace keel
