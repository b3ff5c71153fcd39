#include "commands/product_service.h"

namespace keel {

Result<ProductOutcome> ProductService::Stream::AnswerFor(const ProductWriteModel& model,
                                                         const Decision& decision) {
  const Product* p = model.Find(decision.key);
  if (!p) return Fail(Error::Internal("Product " + decision.key + " is not in the write model"));
  return ProductOutcome{*p, decision.created, std::nullopt};
}

std::optional<ProductOutcome> ProductService::Stream::Remembered(const ProductWriteModel& model,
                                                                 const EventEnvelope& event) {
  const Product* p = model.Find(event.aggregate_id);
  if (!p) return std::nullopt;
  return ProductOutcome{*p, event.type == kProductCreated, std::nullopt};
}

void ProductService::Stream::Loaded(ProductWriteModel& model, Millis) {
  model.RebuildSkuIndex();
  std::lock_guard lock(service->acknowledged_mu_);
  for (const auto& [id, product] : model.all()) {
    Product& known = service->acknowledged_[id];
    if (known.version <= product.version) known = product;
  }
}

ProductService::ProductService(EventLog& log, Clock& clock, IdGenerator& ids)
    : ids_(ids), runtime_(Stream{{}, this}, log, clock) {}

Status ProductService::Load() { return runtime_.Load(); }

ProductService::Done ProductService::Acknowledging(Done done) {
  return [this, done = std::move(done)](Result<ProductOutcome> out) {
    if (out && out->position) {
      std::lock_guard lock(acknowledged_mu_);
      Product& known = acknowledged_[out->product.id];
      if (known.version < out->product.version) known = out->product;
    }
    done(std::move(out));
  };
}

std::optional<Product> ProductService::Find(const std::string& id) const {
  std::lock_guard lock(acknowledged_mu_);
  auto it = acknowledged_.find(id);
  if (it == acknowledged_.end()) return std::nullopt;
  return it->second;
}

void ProductService::Create(ProductInput input, CommandMeta meta, Done done) {
  runtime_.Execute(
      std::move(meta),
      [this, input = std::move(input)](const ProductWriteModel& model,
                                       const CommandMeta& m) -> Result<Decision> {
        const std::string id = ids_.NewId();
        auto event = DecideCreateProduct(model, id, input, m, ids_);
        if (!event) return Fail(event.error());
        return Decision{id, {std::move(*event)}, true};
      },
      Acknowledging(std::move(done)));
}

void ProductService::Change(
    std::string id, CommandMeta meta,
    std::function<Result<std::vector<EventEnvelope>>(const ProductWriteModel&, const CommandMeta&)>
        decide,
    Done done) {
  runtime_.Execute(
      std::move(meta),
      [id = std::move(id), decide = std::move(decide)](const ProductWriteModel& model,
                                                       const CommandMeta& m) -> Result<Decision> {
        auto events = decide(model, m);
        if (!events) return Fail(events.error());
        return Decision{id, std::move(*events), false};
      },
      Acknowledging(std::move(done)));
}

void ProductService::Replace(std::string id, ProductInput input,
                             std::optional<int64_t> expected_version, CommandMeta meta, Done done) {
  Change(
      id, std::move(meta),
      [this, id, input = std::move(input), expected_version](const ProductWriteModel& model,
                                                             const CommandMeta& m) {
        return DecideReplaceProduct(model, id, input, expected_version, m, ids_);
      },
      std::move(done));
}

void ProductService::Deactivate(std::string id, std::optional<int64_t> expected_version,
                                CommandMeta meta, Done done) {
  Change(
      id, std::move(meta),
      [this, id, expected_version](const ProductWriteModel& model, const CommandMeta& m) {
        return DecideDeactivateProduct(model, id, expected_version, m, ids_);
      },
      std::move(done));
}

}  // namespace keel
