// The products stream's write model and its pure decide functions: (model, command) → events
// or an error. Everything a product command checks is in this model: the product (its version
// for If-Match) and the index of every sku (SkuKey) to the product holding it, active or not.
// ProductService decides every command of the stream against one whole model under one lock,
// which is what makes a sku unique (product_service.h).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "commands/command_meta.h"
#include "domain/error.h"
#include "domain/event.h"
#include "domain/ids.h"
#include "domain/product.h"

namespace keel {

// Every product, by id, and who holds each sku. A value type; not thread-safe.
class ProductWriteModel final {
 public:
  const Product* Find(std::string_view id) const;
  // The id of the product holding `sku` (compared as SkuKey), active or not; nullptr for none.
  const std::string* OwnerOfSku(std::string_view sku) const;
  // The fold; a refused event changes nothing.
  Status Apply(const EventEnvelope& event);
  // Makes the sku index say again who holds each sku now. A fold from the log reads the
  // partitions interleaved in any order, so a sku that moved from one product to another may
  // have been released by its old holder's later event after its new holder took it; the stream
  // calls this after every fold from the log (the live path folds in decision order and needs
  // it not).
  void RebuildSkuIndex();
  const std::map<std::string, Product, std::less<>>& all() const { return products_; }

 private:
  std::map<std::string, Product, std::less<>> products_;
  std::unordered_map<std::string, std::string> sku_owner_;  // SkuKey → product id
};

// A new product `id`. kAlreadyExists for an id taken, and for a sku another product holds
// ("A product with sku X already exists").
Result<EventEnvelope> DecideCreateProduct(const ProductWriteModel& model, const std::string& id,
                                          const ProductInput& input, const CommandMeta& meta,
                                          IdGenerator& ids);

// PUT, a replace: ProductUpdated with the fields that change; none when nothing does (a retry
// appends nothing). kNotFound; kAborted for a stale If-Match; kAlreadyExists for a sku another
// product holds. Changing only the case of the product's own sku is allowed.
Result<std::vector<EventEnvelope>> DecideReplaceProduct(const ProductWriteModel& model,
                                                        const std::string& id,
                                                        const ProductInput& input,
                                                        std::optional<int64_t> expected_version,
                                                        const CommandMeta& meta, IdGenerator& ids);

// DELETE: ProductDeactivated, or none when the product is inactive already. kNotFound; kAborted
// for a stale If-Match.
Result<std::vector<EventEnvelope>> DecideDeactivateProduct(const ProductWriteModel& model,
                                                           const std::string& id,
                                                           std::optional<int64_t> expected_version,
                                                           const CommandMeta& meta,
                                                           IdGenerator& ids);

}  // namespace keel
