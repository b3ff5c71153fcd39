// The read models of this build. Everything that handles read models as a whole (a generation's
// projection set, its tables, readiness, waits, rebuild and replay, the admin routes, dead
// letters, metrics) iterates this list; adding a read model is a folder of its own under
// projections/ and one line in registry.cc.
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "projections/projector.h"

namespace keel {

struct ReadModelRegistration {
  std::string_view name;
  // One generation's projector. `serving`: the generation serves reads, so in-memory views are
  // kept (a generation built from scratch has none until it is reopened to serve).
  std::unique_ptr<Projector> (*make)(bool serving);
};

// In the order their projectors fold each event of a topic they share: a projector that may
// refuse an event another one depends on comes first.
std::span<const ReadModelRegistration> RegisteredReadModels();

}  // namespace keel
