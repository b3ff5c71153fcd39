// Loyalty levels (issue 16): GET and PUT /api/v1/customer-levels, and the `loyalty` member of a
// served customer. The settings are the loyalty stream's (commands/loyalty_service.h), read from
// the loyalty read model; the levels are computed at read time by the RfmColumns view against
// the clock of the request (a projection may not take the clock; a query may).
#include <optional>
#include <string>
#include <utility>

#include "api/envelope.h"
#include "api/route_helpers.h"
#include "api/routes.h"
#include "commands/loyalty_service.h"
#include "domain/json.h"
#include "domain/loyalty.h"
#include "projections/customers/customers_projector.h"
#include "projections/loyalty/loyalty_projector.h"
#include "projections/loyalty/rfm_columns.h"

namespace keel {
namespace {

void WriteTenths(JsonWriter& w, int64_t tenths) {
  std::string text = std::to_string(tenths / 10);
  text += '.';
  text += static_cast<char>('0' + tenths % 10);
  w.Raw(text);
}

void WriteLadder(JsonWriter& w, std::string_view key,
                 const std::array<std::optional<int64_t>, 4>& ladder, bool cents) {
  w.Key(key).BeginArray();
  for (const auto& v : ladder) {
    if (!v) {
      w.Null();
    } else if (cents) {
      w.Cents(*v);
    } else {
      w.Int(*v);
    }
  }
  w.EndArray();
}

std::string LevelsJson(const LoyaltySettingsState& state, const RfmColumns::Summary& summary,
                       Millis now) {
  const LoyaltySettings& s = state.settings;
  const RfmColumns::Thresholds& t = summary.thresholds;
  JsonWriter w;
  w.BeginObject();
  w.Key("mode").String(LoyaltyModeName(s.mode));
  w.Key("version").Int(state.version);
  w.Key("asOf").String(FormatIso8601(now));
  w.Key("customers").Int(summary.customers);
  w.Key("customersWithOrders").Int(t.customers_with_orders);
  w.Key("levels").BeginArray();
  for (int level = 0; level < kLoyaltyLevels; ++level) {
    w.BeginObject();
    w.Key("name").String(LoyaltyLevelName(static_cast<LoyaltyLevel>(level)));
    w.Key("minAverage");
    WriteTenths(w, level == 0 ? 10 : s.level_tenths[static_cast<size_t>(level - 1)]);
    w.Key("belowAverage");
    if (level == kLoyaltyLevels - 1) {
      w.Null();
    } else {
      WriteTenths(w, s.level_tenths[static_cast<size_t>(level)]);
    }
    w.Key("customers").Int(summary.per_level[static_cast<size_t>(level)]);
    w.EndObject();
  }
  w.EndArray();
  const ServedLadders ladders = LaddersOf(t.cuts, DayNumber(now));
  w.Key("thresholds").BeginObject();
  w.Key("source").String(t.quintile ? "quintile" : "fixed");
  w.Key("fellBack").Bool(t.fell_back);
  if (t.fell_back) {
    std::string note = "Quintile mode needs at least ";
    note += std::to_string(s.quintile_min_customers);
    note += " active customers with orders and there are ";
    note += std::to_string(t.customers_with_orders);
    note += ": the fixed thresholds are in force";
    w.Key("note").String(note);
  }
  WriteLadder(w, "recencyDays", ladders.recency_days, false);
  WriteLadder(w, "frequencyOrders", ladders.frequency_orders, false);
  WriteLadder(w, "monetarySpend", ladders.monetary_cents, true);
  w.EndObject();
  w.Key("settings").Raw(EncodeLoyaltySettings(s));
  w.Key("updatedAt");
  if (state.version == 0) {
    w.Null();
  } else {
    w.String(FormatIso8601(state.updated_at));
  }
  w.Key("updatedBy");
  if (state.version == 0) {
    w.Null();
  } else {
    w.String(state.updated_by);
  }
  w.EndObject();
  return w.Take();
}

// If-Match as ExpectedVersion reads it, and also "0": the settings' ETag before the first change.
Result<std::optional<int64_t>> SettingsVersion(const HttpRequest& req) {
  if (auto h = req.header("If-Match"); h && (*h == "\"0\"" || *h == "W/\"0\"" || *h == "0")) {
    return std::optional<int64_t>(0);
  }
  return ExpectedVersion(req);
}

void AnswerLoyaltyCommand(RouteContext& ctx, HttpResponder& r, const Result<LoyaltyOutcome>& out) {
  ctx.metrics.Command("ChangeLoyaltySettings", out.has_value());
  if (!out) return SendError(r, out.error());
  SendCommandAnswer(ctx, r, false, VersionTag(out->state.version), out->position,
                    out->position ? "Loyalty settings changed" : "Loyalty settings unchanged",
                    LoyaltyStateToJson(out->state));
}

}  // namespace

const RfmColumns* RfmColumnsOf(const ReadModel& rm) {
  const auto* customers = rm.projections->Find<CustomersProjector>();
  return customers ? customers->rfm() : nullptr;
}

std::vector<std::string> LoyaltyOfCustomersJson(ReadModel& rm, const std::vector<std::string>& ids,
                                                Millis now) {
  std::vector<std::string> out(ids.size(), "null");
  const RfmColumns* rfm = RfmColumnsOf(rm);
  if (ids.empty() || !rfm || !rfm->ready()) return out;
  auto state = QueryLoyaltySettings(*rm.store);
  if (!state) return out;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto of = rfm->Of(ids[i], state->settings, now);
    if (!of) continue;
    JsonWriter w;
    w.BeginObject();
    w.Key("level").String(LoyaltyLevelName(of->level));
    w.Key("recency").Int(of->scores.recency);
    w.Key("frequency").Int(of->scores.frequency);
    w.Key("monetary").Int(of->scores.monetary);
    w.EndObject();
    out[i] = w.Take();
  }
  return out;
}

std::string WithLoyalty(std::string customer_json, std::string_view loyalty_json) {
  if (customer_json.size() < 2 || customer_json.back() != '}') return customer_json;
  customer_json.pop_back();
  customer_json += ",\"loyalty\":";
  customer_json += loyalty_json;
  customer_json += '}';
  return customer_json;
}

void AddLoyaltyRoutes(HttpServer& server, RouteContext& ctx) {
  // Waits for `minPosition` of the customers stream (orders move the levels), then for
  // `settingsPosition` of the loyalty stream (what a PUT answered).
  server.AddRoute("GET", "/api/v1/customer-levels", [&ctx](HttpRequest& req, HttpResponder r) {
    auto render = [&ctx](HttpRequest&, ReadModel& rm, HttpResponder& r, bool caught_up) {
      auto state = QueryLoyaltySettings(*rm.store);
      if (!state) return SendError(r, state.error());
      const RfmColumns* rfm = RfmColumnsOf(rm);
      if (!rfm || !rfm->ready()) {
        return SendError(r, Error::Unavailable(
                                "Loyalty levels are not available yet: the customers are loading"));
      }
      const Millis now = ctx.clock.NowMillis();
      const auto summary = rfm->Levels(state->settings, now);
      Headers headers{{"ETag", VersionTag(state->version)}};
      if (!caught_up || !summary.thresholds.current) headers.emplace_back("X-Keel-Stale", "true");
      r.Send(200, SuccessBody("Customer levels retrieved", LevelsJson(*state, summary, now)),
             headers);
    };
    AwaitPosition(
        req, ctx, r,
        [&ctx, render](HttpRequest& req, ReadModel& rm, HttpResponder& r, bool caught_up) {
          auto settings_at = req.query.find("settingsPosition");
          if (settings_at == req.query.end()) return render(req, rm, r, caught_up);
          HttpRequest next = req;
          next.query["minPosition"] = settings_at->second;
          AwaitPosition(
              next, ctx, r,
              [render, caught_up](HttpRequest& req, ReadModel& rm, HttpResponder& r, bool also) {
                render(req, rm, r, caught_up && also);
              },
              kLoyaltyTopic);
        },
        kCustomersTopic);
  });

  server.AddRoute("PUT", "/api/v1/customer-levels", [&ctx](HttpRequest& req, HttpResponder r) {
    if (RefusedUnavailable(ctx, ctx.loyalty != nullptr, "Loyalty settings", r)) return;
    auto refuse = [&](const Error& e) {
      ctx.metrics.Command("ChangeLoyaltySettings", false);
      SendError(r, e);
    };
    auto patch = ParseLoyaltySettingsPatch(req.body);
    if (!patch) return refuse(patch.error());
    auto expected = SettingsVersion(req);
    if (!expected) return refuse(expected.error());
    auto meta = MetaFor(req);
    if (!meta) return refuse(meta.error());
    ctx.loyalty->Change(
        std::move(*patch), *expected, std::move(*meta),
        [&ctx, r](Result<LoyaltyOutcome> out) mutable { AnswerLoyaltyCommand(ctx, r, out); });
  });
}

}  // namespace keel
