// Key → partition, identical to the Java Kafka client's default partitioner for keyed records
// (murmur2, sign bit cleared, modulo the partition count), so that Keel, kcat with
// -X partitioner=murmur2 and Java clients agree. Both event logs use it. Pure.
#pragma once

#include <cstdint>
#include <string_view>

namespace keel {

int32_t Murmur2(std::string_view key);
int32_t PartitionForKey(std::string_view key, int32_t partition_count);

}  // namespace keel
