// What Keel demands of its Kafka topics, as plain functions, tested without a broker: the log is
// the truth, so no topic of Keel's may ever expire or compact away an event.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "domain/error.h"

namespace keel {

// Replicas of a topic Keel creates: `configured` when it is set (above 0), else the smaller of
// 3 and the cluster's broker count.
int ReplicationFactorFor(int configured, int brokers);

// The topic-level configuration Keel creates its topics with: nothing expires, nothing is
// compacted, and with 3 replicas or more an acknowledged write is on at least two of them.
std::vector<std::pair<std::string, std::string>> NewTopicConfig(int replication_factor);

// Ok when `config` (an existing topic's effective configuration, name to value) keeps every
// event forever: cleanup.policy without "compact" (compaction drops all but the last record of
// a key, and Keel keys by aggregate), retention.ms and retention.bytes both -1. Otherwise
// kFailedPrecondition naming the topic, the setting, its value and the fix.
Status CheckKeepsEveryEvent(const std::string& topic,
                            const std::map<std::string, std::string>& config);

}  // namespace keel
