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

// What a projector is made with.
struct ProjectorContext {
  // The store of a generation that serves reads, whose in-memory views are kept; nullptr for
  // one built from scratch (none until it is reopened to serve) and for listing tables.
  ReadStore* serving_store = nullptr;
  // The projectors of the generation registered before this one: one that folds after another
  // of its group may read what that one just folded.
  std::span<const std::unique_ptr<Projector>> earlier;

  template <typename P>
  P* Find() const {
    for (const auto& projector : earlier) {
      if (auto* p = dynamic_cast<P*>(projector.get())) return p;
    }
    return nullptr;
  }
};

struct ReadModelRegistration {
  std::string_view name;
  // One generation's projector.
  std::unique_ptr<Projector> (*make)(const ProjectorContext& context);
};

// In the order their projectors fold each event of a topic they share: a projector that may
// refuse an event another one depends on comes first.
std::span<const ReadModelRegistration> RegisteredReadModels();

}  // namespace keel
