#include "projections/orders/order_record.h"

#include "projections/binary.h"

namespace keel {

// 1: without the events' positions; 2: without the items' product and tax rate; 3: without the
// promotion (none written since 4, all still read).
constexpr char kOrderRecordFormat = 4;

// Which of an item's optional members follow it (format 3).
constexpr uint8_t kItemProduct = 1;
constexpr uint8_t kItemTaxRate = 2;

std::string EncodeOrderRecord(const Order& o, const std::vector<LogPosition>& events) {
  std::string out;
  size_t bytes =
      3 + 5 * 8 + 3 * 4 + o.id.size() + o.customer_id.size() + 4 + 4 + 12 * events.size();
  if (o.external_id) bytes += o.external_id->size();
  if (o.promotion) {
    bytes += 25 + o.promotion->assignment_id.size() + o.promotion->promotion_id.size();
  }
  for (const auto& item : o.items) {
    bytes += 25 + item.sku.size() + item.name.size();
    if (item.product_id) bytes += 4 + item.product_id->size();
    if (item.tax_rate_bp) bytes += 8;
  }
  out.reserve(bytes);
  out.push_back(kOrderRecordFormat);
  out.push_back(static_cast<char>(o.status));
  out.push_back(o.external_id ? 1 : 0);
  for (int64_t v : {o.order_date, o.amount_cents, o.created_at, o.updated_at, o.version}) {
    PutI64(out, v);
  }
  PutText(out, o.id);
  PutText(out, o.customer_id);
  if (o.external_id) PutText(out, *o.external_id);
  PutU32(out, static_cast<uint32_t>(o.items.size()));
  for (const auto& item : o.items) {
    PutText(out, item.sku);
    PutText(out, item.name);
    PutI64(out, item.qty);
    PutI64(out, item.price_cents);
    out.push_back(static_cast<char>((item.product_id ? kItemProduct : 0) |
                                    (item.tax_rate_bp ? kItemTaxRate : 0)));
    if (item.product_id) PutText(out, *item.product_id);
    if (item.tax_rate_bp) PutI64(out, *item.tax_rate_bp);
  }
  out.push_back(o.promotion ? 1 : 0);
  if (o.promotion) {
    const OrderPromotion& p = *o.promotion;
    PutText(out, p.assignment_id);
    PutText(out, p.promotion_id);
    out.push_back(static_cast<char>(p.reward_type));
    PutI64(out, p.reward_value);
    PutI64(out, p.discount_cents);
  }
  PutU32(out, static_cast<uint32_t>(events.size()));
  for (const LogPosition& at : events) {
    PutU32(out, static_cast<uint32_t>(at.partition));
    PutI64(out, at.offset);
  }
  return out;
}

Result<Order> DecodeOrderRecord(std::string_view record, std::vector<LogPosition>* events) {
  if (events) events->clear();
  if (!record.empty() && record.front() == '{') return OrderFromJson(record);  // older read model
  auto bad = [&] {
    return Fail(Error::DataLoss("Order record of " + std::to_string(record.size()) +
                                " bytes is unreadable"));
  };
  BinaryReader in(record);
  const uint8_t format = in.Byte();
  if (format < 1 || format > kOrderRecordFormat) return bad();
  const uint8_t status = in.Byte();
  const uint8_t flags = in.Byte();
  if (status > static_cast<uint8_t>(OrderStatus::kCancelled) || flags > 1) return bad();
  Order o;
  o.status = static_cast<OrderStatus>(status);
  o.order_date = in.I64();
  o.amount_cents = in.I64();
  o.created_at = in.I64();
  o.updated_at = in.I64();
  o.version = in.I64();
  o.id = in.Text();
  o.customer_id = in.Text();
  if (flags & 1) o.external_id = in.Text();
  const uint64_t items = in.U32();
  // Each item takes at least 24 bytes: a count beyond what is left is not a record of ours.
  if (in.bad() || items > record.size() / 24) return bad();
  o.items.reserve(static_cast<size_t>(items));
  for (uint64_t i = 0; i < items && !in.bad(); ++i) {
    OrderItem& item = o.items.emplace_back();
    item.sku = in.Text();
    item.name = in.Text();
    item.qty = in.I64();
    item.price_cents = in.I64();
    if (format >= 3) {
      const uint8_t members = in.Byte();
      if (members > (kItemProduct | kItemTaxRate)) return bad();
      if (members & kItemProduct) item.product_id = in.Text();
      if (members & kItemTaxRate) item.tax_rate_bp = in.I64();
    }
  }
  if (format >= 4) {
    const uint8_t has_promotion = in.Byte();
    if (has_promotion > 1) return bad();
    if (has_promotion) {
      OrderPromotion p;
      p.assignment_id = in.Text();
      p.promotion_id = in.Text();
      const uint8_t type = in.Byte();
      if (type > static_cast<uint8_t>(RewardType::kFixedAmount)) return bad();
      p.reward_type = static_cast<RewardType>(type);
      p.reward_value = in.I64();
      p.discount_cents = in.I64();
      o.promotion = std::move(p);
    }
  }
  if (format >= 2) {
    const uint64_t count = in.U32();
    if (in.bad() || count > record.size() / 12) return bad();
    for (uint64_t i = 0; i < count && !in.bad(); ++i) {
      LogPosition at;
      at.partition = static_cast<int32_t>(in.U32());
      at.offset = in.I64();
      if (events) events->push_back(at);
    }
  }
  if (in.bad() || !in.done()) return bad();
  return o;
}

}  // namespace keel
