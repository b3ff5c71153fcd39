#include "domain/product.h"

#include <vector>

#include "domain/customer.h"  // kMaxCents
#include "domain/json.h"
#include "domain/json_input.h"

namespace keel {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

bool IsNumber(element v) {
  return v.type() == element_type::INT64 || v.type() == element_type::UINT64 ||
         v.type() == element_type::DOUBLE;
}

// A number from 0 to `max_hundredths` / 100 with at most two decimals, in hundredths (cents of
// a price, basis points of a rate); nullopt with the error at `field` otherwise.
std::optional<int64_t> ReadHundredths(element v, std::string_view field, int64_t max_hundredths,
                                      std::vector<FieldError>& errors) {
  if (!IsNumber(v)) {
    errors.push_back(
        {std::string(field), "Expected a number, got " + std::string(json::TypeName(v))});
    return std::nullopt;
  }
  auto out_of_range = [&] {
    std::string message = "Must be between 0 and ";
    message += std::to_string(max_hundredths / 100);
    errors.push_back({std::string(field), std::move(message)});
    return std::nullopt;
  };
  // The range first: a huge number is out of range, whatever its decimals.
  const double units = v.get_double().value_unsafe();
  if (!(units >= 0 && units <= static_cast<double>(max_hundredths / 100))) return out_of_range();
  auto hundredths = json::ToCents(v);
  if (!hundredths) {
    errors.push_back({std::string(field), "Must have at most two decimal places"});
    return std::nullopt;
  }
  if (*hundredths < 0 || *hundredths > max_hundredths) return out_of_range();
  return hundredths;
}

// What the fold reads: hundredths within 0..max, or nullopt.
std::optional<int64_t> HundredthsOf(element v, int64_t max) {
  if (!IsNumber(v)) return std::nullopt;
  auto hundredths = json::ToCents(v);
  if (!hundredths || *hundredths < 0 || *hundredths > max) return std::nullopt;
  return hundredths;
}

std::optional<int64_t> StoredHundredths(element doc, std::string_view key, int64_t max) {
  element v;
  if (doc.at_key(key).get(v)) return std::nullopt;
  return HundredthsOf(v, max);
}

std::optional<std::string_view> StringAt(element doc, std::string_view key) {
  std::string_view v;
  if (doc.at_key(key).get(v)) return std::nullopt;
  return v;
}

std::optional<bool> BoolAt(element doc, std::string_view key) {
  bool v = false;
  if (doc.at_key(key).get(v)) return std::nullopt;
  return v;
}

void WriteFields(JsonWriter& w, const ProductInput& in) {
  w.Key("name").String(in.name);
  w.Key("sku").String(in.sku);
  w.Key("price").Cents(in.price_cents);
  w.Key("taxRate").Cents(in.tax_rate_bp);
  w.Key("isActive").Bool(in.is_active);
}

}  // namespace

Result<ProductInput> ParseProductInput(std::string_view body) {
  auto obj = json::BodyObject(body);
  if (!obj) return Fail(obj.error());
  std::vector<FieldError> errors;
  std::optional<std::string> name, sku;
  std::optional<int64_t> price, tax_rate;
  std::optional<bool> is_active;
  bool name_seen = false, sku_seen = false, price_seen = false;
  for (auto [key, value] : *obj) {
    if (key == "name") {
      name_seen = true;
      name = json::ReadTrimmedText(value, "name", 1, kMaxProductNameLength, errors);
    } else if (key == "sku") {
      sku_seen = true;
      sku = json::ReadTrimmedText(value, "sku", 1, kMaxSkuLength, errors);
    } else if (key == "price") {
      price_seen = true;
      price = ReadHundredths(value, "price", kMaxCents, errors);
    } else if (key == "taxRate") {
      tax_rate = ReadHundredths(value, "taxRate", kMaxTaxRateBasisPoints, errors);
    } else if (key == "isActive") {
      bool flag = false;
      if (value.get(flag)) {
        errors.push_back(
            {"isActive", "Expected a boolean, got " + std::string(json::TypeName(value))});
      } else {
        is_active = flag;
      }
    } else {
      errors.push_back({std::string(key), "Unknown field"});
    }
  }
  if (!name_seen) errors.push_back({"name", "Is required"});
  if (!sku_seen) errors.push_back({"sku", "Is required"});
  if (!price_seen) errors.push_back({"price", "Is required"});
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  ProductInput input;
  input.name = std::move(*name);
  input.sku = std::move(*sku);
  input.price_cents = *price;
  input.tax_rate_bp = tax_rate.value_or(0);
  input.is_active = is_active.value_or(true);
  return input;
}

std::string FoldAsciiCase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string SkuKey(std::string_view sku) { return FoldAsciiCase(sku); }

std::string EncodeProductCreated(const ProductInput& input) {
  JsonWriter w;
  w.BeginObject();
  WriteFields(w, input);
  w.EndObject();
  return w.Take();
}

std::optional<std::string> EncodeProductUpdated(const Product& current, const ProductInput& next) {
  JsonWriter w;
  w.BeginObject();
  bool any = false;
  if (next.name != current.name) {
    w.Key("name").String(next.name);
    any = true;
  }
  if (next.sku != current.sku) {
    w.Key("sku").String(next.sku);
    any = true;
  }
  if (next.price_cents != current.price_cents) {
    w.Key("price").Cents(next.price_cents);
    any = true;
  }
  if (next.tax_rate_bp != current.tax_rate_bp) {
    w.Key("taxRate").Cents(next.tax_rate_bp);
    any = true;
  }
  if (next.is_active != current.is_active) {
    w.Key("isActive").Bool(next.is_active);
    any = true;
  }
  w.EndObject();
  if (!any) return std::nullopt;
  return w.Take();
}

Status ApplyProductEvent(Product& p, const EventEnvelope& event) {
  if (auto st = CheckNextVersion(event, p.version); !st) return st;
  auto doc = json::Parse(event.payload, "Event payload", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  auto bad = [&](std::string_view why) {
    std::string message(event.type);
    message += " of product ";
    message += event.aggregate_id;
    message += ": ";
    message += why;
    return Fail(Error::DataLoss(std::move(message)));
  };
  if (event.type == kProductCreated) {
    if (p.version != 0) return bad("the product exists");
    auto name = StringAt(*doc, "name");
    auto sku = StringAt(*doc, "sku");
    auto price = StoredHundredths(*doc, "price", kMaxCents);
    auto tax_rate = StoredHundredths(*doc, "taxRate", kMaxTaxRateBasisPoints);
    auto is_active = BoolAt(*doc, "isActive");
    if (!name || !sku || !price || !tax_rate || !is_active || name->empty() || sku->empty()) {
      return bad("a field is missing or out of range");
    }
    p.id = event.aggregate_id;
    p.name = std::string(*name);
    p.sku = std::string(*sku);
    p.price_cents = *price;
    p.tax_rate_bp = *tax_rate;
    p.is_active = *is_active;
    p.created_by = event.actor;
    p.created_at = event.occurred_at;
  } else if (event.type == kProductUpdated) {
    if (p.version == 0) return bad("no such product");
    simdjson::dom::object fields;
    if (doc->get(fields)) return bad("the payload is not an object");
    Product next = p;
    int changed = 0;
    for (auto [key, value] : fields) {
      std::string_view text;
      bool flag = false;
      if (key == "name" && !value.get(text) && !text.empty()) {
        next.name = std::string(text);
      } else if (key == "sku" && !value.get(text) && !text.empty()) {
        next.sku = std::string(text);
      } else if (key == "price") {
        auto price = HundredthsOf(value, kMaxCents);
        if (!price) return bad("price is out of range");
        next.price_cents = *price;
      } else if (key == "taxRate") {
        auto rate = HundredthsOf(value, kMaxTaxRateBasisPoints);
        if (!rate) return bad("taxRate is out of range");
        next.tax_rate_bp = *rate;
      } else if (key == "isActive" && !value.get(flag)) {
        next.is_active = flag;
      } else {
        return bad("unknown or malformed field");
      }
      ++changed;
    }
    if (changed == 0) return bad("nothing changed");
    p = std::move(next);
  } else if (event.type == kProductDeactivated) {
    if (p.version == 0) return bad("no such product");
    p.is_active = false;
  } else {
    return Fail(Error::DataLoss("Not a product event: " + event.type));
  }
  p.updated_at = event.occurred_at;
  p.version = event.aggregate_version;
  return {};
}

std::string ProductToJson(const Product& p) {
  JsonWriter w;
  w.BeginObject();
  w.Key("id").String(p.id);
  w.Key("name").String(p.name);
  w.Key("sku").String(p.sku);
  w.Key("price").Cents(p.price_cents);
  w.Key("taxRate").Cents(p.tax_rate_bp);
  w.Key("isActive").Bool(p.is_active);
  w.Key("createdBy").String(p.created_by);
  w.Key("createdAt").String(FormatIso8601(p.created_at));
  w.Key("updatedAt").String(FormatIso8601(p.updated_at));
  w.Key("version").Int(p.version);
  w.EndObject();
  return w.Take();
}

Result<Product> ProductFromJson(std::string_view json) {
  auto doc = json::Parse(json, "Product record", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  std::string_view id, name, sku, created_by, created_at, updated_at;
  bool is_active = false;
  int64_t version = 0;
  if (doc->at_key("id").get(id) || doc->at_key("name").get(name) || doc->at_key("sku").get(sku) ||
      doc->at_key("isActive").get(is_active) || doc->at_key("createdBy").get(created_by) ||
      doc->at_key("createdAt").get(created_at) || doc->at_key("updatedAt").get(updated_at) ||
      doc->at_key("version").get(version)) {
    return Fail(Error::DataLoss("Product record lacks a field"));
  }
  auto price = StoredHundredths(*doc, "price", kMaxCents);
  auto tax_rate = StoredHundredths(*doc, "taxRate", kMaxTaxRateBasisPoints);
  auto created = ParseIso8601(created_at);
  auto updated = ParseIso8601(updated_at);
  if (!price || !tax_rate || !created || !updated) {
    return Fail(Error::DataLoss("Product record " + std::string(id) + " is malformed"));
  }
  Product p;
  p.id = std::string(id);
  p.name = std::string(name);
  p.sku = std::string(sku);
  p.price_cents = *price;
  p.tax_rate_bp = *tax_rate;
  p.is_active = is_active;
  p.created_by = std::string(created_by);
  p.created_at = *created;
  p.updated_at = *updated;
  p.version = version;
  return p;
}

}  // namespace keel
