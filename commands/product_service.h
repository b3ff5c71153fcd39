// ProductService: runs the commands of the products stream (create, replace, deactivate)
// against the ProductWriteModel, on a pipelined CommandRuntime (command_runtime.h). Idempotency-
// Keys as IdempotentAnswers says.
//
// Why a sku cannot be taken twice: the stream's events are keyed (and partitioned) by product
// id, but its write model is whole, every product and the sku index in one model of one runtime,
// and each command is decided and folded under the runtime's one lock before the next is
// decided. Two POSTs with one sku that race are therefore decided one after the other, and the
// second sees the first's sku (409), whichever partition either lands on; so are a POST and a
// PUT that moves a product to that sku. An append that fails marks the model stale and the next
// command folds it from the log first, so a sku is never held by an event the log lacks. (A
// command refused meanwhile for a sku whose append then failed is refused wrongly, never
// admitted wrongly.) One process writes the log at a time (the embedded log's directory lock,
// Kafka's writer lease), so no other runtime decides on the same stream. The cost is one lock
// for the whole catalogue, as the customers stream takes one for email uniqueness: product
// commands are rare, and the lock is not held while the log syncs.
//
// Thread-safety: all methods may be called from any thread; `done` runs on a log thread or the
// caller's and must not block.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "commands/command_runtime.h"
#include "commands/product_commands.h"
#include "domain/topics.h"
#include "infra/event_log.h"

namespace keel {

struct ProductOutcome {
  Product product;  // as the command left it
  bool created = false;
  std::optional<AppendResult> position;  // where its last event landed; none if unchanged
};

class ProductService final {
 public:
  using Done = std::function<void(Result<ProductOutcome>)>;

  ProductService(EventLog& log, Clock& clock, IdGenerator& ids);
  ProductService(const ProductService&) = delete;
  ProductService& operator=(const ProductService&) = delete;

  // Folds the whole products topic. Until it has succeeded, commands get kUnavailable.
  Status Load();
  bool loaded() const { return runtime_.loaded(); }
  int64_t in_flight() const { return runtime_.in_flight(); }

  // The product as the log holds it: as Load found it, then as each command whose events the
  // log acknowledged left it (never a version still being appended). nullopt for an id the log
  // has no acknowledged product of. What other streams look a productId up with.
  std::optional<Product> Find(const std::string& id) const;

  void Create(ProductInput input, CommandMeta meta, Done done);
  void Replace(std::string id, ProductInput input, std::optional<int64_t> expected_version,
               CommandMeta meta, Done done);
  void Deactivate(std::string id, std::optional<int64_t> expected_version, CommandMeta meta,
                  Done done);

 private:
  struct Decision {
    std::string key;  // the product's id
    std::vector<EventEnvelope> events;
    bool created = false;
  };
  struct Stream : StreamDefaults {
    using Model = ProductWriteModel;
    using Decision = ProductService::Decision;
    using Answer = ProductOutcome;
    static constexpr std::string_view kTopic = kProductsTopic;
    static constexpr Visibility kVisibility = Visibility::kPipelined;
    static constexpr bool kIdempotent = true;
    Result<ProductOutcome> AnswerFor(const ProductWriteModel& model, const Decision& decision);
    std::optional<ProductOutcome> Remembered(const ProductWriteModel& model,
                                             const EventEnvelope& event);
    // After every fold from the log (Load, and a refold after a failed append), under the
    // runtime's lock: what the log holds is acknowledged. The lock order is the runtime's, then
    // acknowledged_mu_, as in the answers' callbacks; nothing takes them the other way round.
    void Loaded(ProductWriteModel& model, Millis now);
    ProductService* service = nullptr;
  };
  using Runtime = CommandRuntime<Stream>;

  // `done`, after recording what the log acknowledged.
  Done Acknowledging(Done done);
  // Runs a decision on one existing product.
  void Change(std::string id, CommandMeta meta,
              std::function<Result<std::vector<EventEnvelope>>(const ProductWriteModel&,
                                                               const CommandMeta&)>
                  decide,
              Done done);

  IdGenerator& ids_;
  mutable std::mutex acknowledged_mu_;
  std::map<std::string, Product> acknowledged_;  // guarded by acknowledged_mu_
  Runtime runtime_;
};

}  // namespace keel
