#include "domain/project.h"

#include <vector>

#include "domain/json.h"
#include "domain/json_input.h"

namespace keel {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

constexpr std::string_view kStatusNames[] = {"planned", "active", "on_hold", "done", "cancelled"};
constexpr const char* kStatusList = "Must be one of planned, active, on_hold, done, cancelled";

std::optional<ProjectStatus> ReadStatus(element value, std::vector<FieldError>& errors) {
  std::string_view text;
  if (value.get(text)) {
    errors.push_back({"status", kStatusList});
    return std::nullopt;
  }
  auto status = ParseProjectStatus(text);
  if (!status) errors.push_back({"status", kStatusList});
  return status;
}

// The fields POST and PUT share; `seen` says which were present (a field with an error counts).
struct Fields {
  std::optional<std::string> name, customer_id, description, owner_id;
  std::optional<ProjectStatus> status;
  bool name_seen = false, customer_seen = false, status_seen = false;
};

Result<Fields> ReadFields(std::string_view body, std::vector<FieldError>& errors) {
  auto obj = json::BodyObject(body);
  if (!obj) return Fail(obj.error());
  Fields f;
  for (auto [key, value] : *obj) {
    if (key == "name") {
      f.name_seen = true;
      f.name = json::ReadTrimmedText(value, "name", 1, kMaxProjectNameLength, errors);
    } else if (key == "customerId") {
      f.customer_seen = true;
      f.customer_id = json::ReadTrimmedText(value, "customerId", 1, kMaxProjectIdLength, errors);
    } else if (key == "description") {
      if (value.type() == element_type::NULL_VALUE) {
        f.description = std::string();
      } else {
        f.description =
            json::ReadTrimmedText(value, "description", 0, kMaxProjectDescriptionLength, errors);
      }
    } else if (key == "ownerId") {
      f.owner_id = json::ReadTrimmedText(value, "ownerId", 1, kMaxProjectIdLength, errors);
    } else if (key == "status") {
      f.status_seen = true;
      f.status = ReadStatus(value, errors);
    } else {
      errors.push_back({std::string(key), "Unknown field"});
    }
  }
  return f;
}

std::optional<std::string_view> StringAt(element doc, std::string_view key) {
  std::string_view v;
  if (doc.at_key(key).get(v)) return std::nullopt;
  return v;
}

}  // namespace

std::string_view ProjectStatusName(ProjectStatus status) {
  return kStatusNames[static_cast<int>(status)];
}

std::optional<ProjectStatus> ParseProjectStatus(std::string_view name) {
  for (int i = 0; i < 5; ++i) {
    if (kStatusNames[i] == name) return static_cast<ProjectStatus>(i);
  }
  return std::nullopt;
}

bool CanMoveProject(ProjectStatus from, ProjectStatus to) {
  using S = ProjectStatus;
  switch (from) {
    case S::kPlanned:
      return to == S::kActive || to == S::kCancelled;
    case S::kActive:
      return to == S::kOnHold || to == S::kDone || to == S::kCancelled;
    case S::kOnHold:
      return to == S::kActive || to == S::kCancelled;
    case S::kDone:
    case S::kCancelled:
      return false;
  }
  return false;
}

bool IsFinalProjectStatus(ProjectStatus status) {
  return status == ProjectStatus::kDone || status == ProjectStatus::kCancelled;
}

std::string IllegalProjectMove(std::string_view id, ProjectStatus from, ProjectStatus to) {
  std::string message = "Project ";
  message += id;
  message += " is ";
  message += ProjectStatusName(from);
  message += "; it cannot become ";
  message += ProjectStatusName(to);
  return message;
}

Result<ProjectInput> ParseProjectInput(std::string_view body) {
  std::vector<FieldError> errors;
  auto f = ReadFields(body, errors);
  if (!f) return Fail(f.error());
  if (!f->name_seen) errors.push_back({"name", "Is required"});
  if (!f->customer_seen) errors.push_back({"customerId", "Is required"});
  if (f->status && *f->status != ProjectStatus::kPlanned && *f->status != ProjectStatus::kActive) {
    errors.push_back({"status", "A project starts planned or active"});
  }
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  ProjectInput input;
  input.name = std::move(*f->name);
  input.customer_id = std::move(*f->customer_id);
  input.description = f->description.value_or("");
  input.status = f->status.value_or(ProjectStatus::kPlanned);
  input.owner_id = std::move(f->owner_id);
  return input;
}

Result<ProjectPatch> ParseProjectPatch(std::string_view body) {
  std::vector<FieldError> errors;
  auto f = ReadFields(body, errors);
  if (!f) return Fail(f.error());
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  if (!f->name && !f->customer_id && !f->description && !f->owner_id && !f->status) {
    return Fail(Error::InvalidArgument(
        "Nothing to change: send one or more of name, customerId, description, ownerId, status"));
  }
  return ProjectPatch{std::move(f->name), std::move(f->customer_id), std::move(f->description),
                      std::move(f->owner_id), f->status};
}

std::string EncodeProjectCreated(const ProjectInput& input, const std::string& owner_id) {
  JsonWriter w;
  w.BeginObject();
  w.Key("name").String(input.name);
  w.Key("customerId").String(input.customer_id);
  w.Key("description").String(input.description);
  w.Key("status").String(ProjectStatusName(input.status));
  w.Key("ownerId").String(owner_id);
  w.EndObject();
  return w.Take();
}

std::optional<std::string> EncodeProjectEdited(const Project& current, const ProjectPatch& patch) {
  JsonWriter w;
  w.BeginObject();
  bool any = false;
  auto field = [&](std::string_view key, const std::optional<std::string>& next,
                   const std::string& now) {
    if (!next || *next == now) return;
    w.Key(key).String(*next);
    any = true;
  };
  field("name", patch.name, current.name);
  field("customerId", patch.customer_id, current.customer_id);
  field("description", patch.description, current.description);
  field("ownerId", patch.owner_id, current.owner_id);
  w.EndObject();
  if (!any) return std::nullopt;
  return w.Take();
}

std::string EncodeProjectStatusChanged(ProjectStatus from, ProjectStatus to) {
  JsonWriter w;
  w.BeginObject();
  w.Key("from").String(ProjectStatusName(from));
  w.Key("to").String(ProjectStatusName(to));
  w.EndObject();
  return w.Take();
}

Status ApplyProjectEvent(Project& p, const EventEnvelope& event) {
  if (auto st = CheckNextVersion(event, p.version); !st) return st;
  auto doc = json::Parse(event.payload, "Event payload", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  auto bad = [&](std::string_view why) {
    std::string message(event.type);
    message += " of project ";
    message += event.aggregate_id;
    message += ": ";
    message += why;
    return Fail(Error::DataLoss(std::move(message)));
  };
  if (event.type == kProjectCreated) {
    if (p.version != 0) return bad("the project exists");
    auto name = StringAt(*doc, "name");
    auto customer = StringAt(*doc, "customerId");
    auto description = StringAt(*doc, "description");
    auto status_name = StringAt(*doc, "status");
    auto owner = StringAt(*doc, "ownerId");
    if (!name || !customer || !description || !status_name || !owner || name->empty() ||
        customer->empty() || owner->empty()) {
      return bad("a field is missing");
    }
    auto status = ParseProjectStatus(*status_name);
    if (!status) return bad("unknown status");
    p.id = event.aggregate_id;
    p.name = std::string(*name);
    p.customer_id = std::string(*customer);
    p.description = std::string(*description);
    p.status = *status;
    p.owner_id = std::string(*owner);
    p.created_by = event.actor;
    p.created_at = event.occurred_at;
  } else if (event.type == kProjectEdited) {
    if (p.version == 0) return bad("no such project");
    if (IsFinalProjectStatus(p.status)) return bad("the project is closed");
    Project next = p;
    int fields = 0;
    simdjson::dom::object fields_of;
    if (doc->get(fields_of)) return bad("the payload is not an object");
    for (auto [key, value] : fields_of) {
      std::string_view text;
      if (value.get(text)) return bad("a field is not a string");
      if (key == "name" && !text.empty()) {
        next.name = std::string(text);
      } else if (key == "customerId" && !text.empty()) {
        next.customer_id = std::string(text);
      } else if (key == "description") {
        next.description = std::string(text);
      } else if (key == "ownerId" && !text.empty()) {
        next.owner_id = std::string(text);
      } else {
        return bad("unknown or empty field");
      }
      ++fields;
    }
    if (fields == 0) return bad("nothing changed");
    p = std::move(next);
  } else if (event.type == kProjectStatusChanged) {
    if (p.version == 0) return bad("no such project");
    auto from_name = StringAt(*doc, "from");
    auto to_name = StringAt(*doc, "to");
    auto from = from_name ? ParseProjectStatus(*from_name) : std::nullopt;
    auto to = to_name ? ParseProjectStatus(*to_name) : std::nullopt;
    if (!from || !to) return bad("from or to is missing");
    if (*from != p.status) return bad("from is not the project's status");
    if (!CanMoveProject(*from, *to)) return bad(IllegalProjectMove(p.id, *from, *to));
    p.status = *to;
  } else {
    return Fail(Error::DataLoss("Not a project event: " + event.type));
  }
  p.updated_at = event.occurred_at;
  p.version = event.aggregate_version;
  return {};
}

std::string ProjectToJson(const Project& p) {
  JsonWriter w;
  w.BeginObject();
  w.Key("id").String(p.id);
  w.Key("name").String(p.name);
  w.Key("customerId").String(p.customer_id);
  w.Key("description").String(p.description);
  w.Key("status").String(ProjectStatusName(p.status));
  w.Key("ownerId").String(p.owner_id);
  w.Key("createdBy").String(p.created_by);
  w.Key("createdAt").String(FormatIso8601(p.created_at));
  w.Key("updatedAt").String(FormatIso8601(p.updated_at));
  w.Key("version").Int(p.version);
  w.EndObject();
  return w.Take();
}

Result<Project> ProjectFromJson(std::string_view json) {
  auto doc = json::Parse(json, "Project record", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  std::string_view id, name, customer, description, status, owner, created_by, created_at,
      updated_at;
  int64_t version = 0;
  if (doc->at_key("id").get(id) || doc->at_key("name").get(name) ||
      doc->at_key("customerId").get(customer) || doc->at_key("description").get(description) ||
      doc->at_key("status").get(status) || doc->at_key("ownerId").get(owner) ||
      doc->at_key("createdBy").get(created_by) || doc->at_key("createdAt").get(created_at) ||
      doc->at_key("updatedAt").get(updated_at) || doc->at_key("version").get(version)) {
    return Fail(Error::DataLoss("Project record lacks a field"));
  }
  auto parsed_status = ParseProjectStatus(status);
  auto created = ParseIso8601(created_at);
  auto updated = ParseIso8601(updated_at);
  if (!parsed_status || !created || !updated) {
    return Fail(Error::DataLoss("Project record " + std::string(id) + " is malformed"));
  }
  Project p;
  p.id = std::string(id);
  p.name = std::string(name);
  p.customer_id = std::string(customer);
  p.description = std::string(description);
  p.status = *parsed_status;
  p.owner_id = std::string(owner);
  p.created_by = std::string(created_by);
  p.created_at = *created;
  p.updated_at = *updated;
  p.version = version;
  return p;
}

}  // namespace keel
