#include "commands/product_commands.h"

namespace keel {
namespace {

Result<const Product*> FindChecked(const ProductWriteModel& model, const std::string& id,
                                   std::optional<int64_t> expected_version) {
  const Product* p = model.Find(id);
  if (!p) return Fail(Error::NotFound("Product " + id + " not found"));
  if (auto st = CheckExpectedVersion("Product", id, p->version, expected_version); !st) {
    return Fail(st.error());
  }
  return p;
}

// kAlreadyExists when a product other than `self` holds `sku`.
Status CheckSkuFree(const ProductWriteModel& model, const std::string& sku, std::string_view self) {
  const std::string* owner = model.OwnerOfSku(sku);
  if (owner && *owner != self) {
    std::string message = "A product with sku ";
    message += sku;
    message += " already exists";
    return Fail(Error::AlreadyExists(std::move(message)));
  }
  return {};
}

}  // namespace

const Product* ProductWriteModel::Find(std::string_view id) const {
  auto it = products_.find(id);
  return it == products_.end() ? nullptr : &it->second;
}

const std::string* ProductWriteModel::OwnerOfSku(std::string_view sku) const {
  auto it = sku_owner_.find(SkuKey(sku));
  return it == sku_owner_.end() ? nullptr : &it->second;
}

Status ProductWriteModel::Apply(const EventEnvelope& event) {
  Product next;
  const Product* current = Find(event.aggregate_id);
  if (current) next = *current;
  if (auto st = ApplyProductEvent(next, event); !st) return st;
  if (current && current->sku != next.sku) {
    auto it = sku_owner_.find(SkuKey(current->sku));
    if (it != sku_owner_.end() && it->second == next.id) sku_owner_.erase(it);
  }
  sku_owner_[SkuKey(next.sku)] = next.id;
  products_[event.aggregate_id] = std::move(next);
  return {};
}

void ProductWriteModel::RebuildSkuIndex() {
  sku_owner_.clear();
  for (const auto& [id, product] : products_) sku_owner_[SkuKey(product.sku)] = id;
}

Result<EventEnvelope> DecideCreateProduct(const ProductWriteModel& model, const std::string& id,
                                          const ProductInput& input, const CommandMeta& meta,
                                          IdGenerator& ids) {
  if (model.Find(id)) return Fail(Error::AlreadyExists("Product " + id + " already exists"));
  if (auto st = CheckSkuFree(model, input.sku, id); !st) return Fail(st.error());
  return NewEvent(kProductAggregate, kProductCreated, id, 1, EncodeProductCreated(input), meta,
                  ids);
}

Result<std::vector<EventEnvelope>> DecideReplaceProduct(const ProductWriteModel& model,
                                                        const std::string& id,
                                                        const ProductInput& input,
                                                        std::optional<int64_t> expected_version,
                                                        const CommandMeta& meta, IdGenerator& ids) {
  auto found = FindChecked(model, id, expected_version);
  if (!found) return Fail(found.error());
  const Product& p = **found;
  if (auto st = CheckSkuFree(model, input.sku, id); !st) return Fail(st.error());
  std::vector<EventEnvelope> events;
  if (auto updated = EncodeProductUpdated(p, input)) {
    events.push_back(NewEvent(kProductAggregate, kProductUpdated, id, p.version + 1,
                              std::move(*updated), meta, ids));
  }
  return events;
}

Result<std::vector<EventEnvelope>> DecideDeactivateProduct(const ProductWriteModel& model,
                                                           const std::string& id,
                                                           std::optional<int64_t> expected_version,
                                                           const CommandMeta& meta,
                                                           IdGenerator& ids) {
  auto found = FindChecked(model, id, expected_version);
  if (!found) return Fail(found.error());
  std::vector<EventEnvelope> events;
  if ((*found)->is_active) {
    events.push_back(NewEvent(kProductAggregate, kProductDeactivated, id, (*found)->version + 1,
                              "{}", meta, ids));
  }
  return events;
}

}  // namespace keel
