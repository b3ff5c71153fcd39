#include "domain/access.h"

#include <cstring>

namespace keel {

const std::vector<PermissionInfo>& BuiltinPermissions() {
  static const std::vector<PermissionInfo> kPermissions = {
      {"customers:create", "Register customers"},
      {"customers:read_own", "Read the customers assigned to you, their events and orders"},
      {"customers:read_all", "Read every customer"},
      {"customers:update_own", "Update, deactivate and record visits of your customers"},
      {"customers:update_all", "Update, deactivate and record visits of every customer"},
      {"customers:assign", "Assign customers to a user (ownerId)"},
      {"orders:create_own", "Place orders for your customers"},
      {"orders:create_all", "Place orders for every customer"},
      {"orders:read_own", "Read the orders of your customers"},
      {"orders:read_all", "Read every order"},
      {"orders:update_own", "Change the status of your customers' orders"},
      {"orders:update_all", "Change the status of every order"},
      {"ingest:run", "Bulk-ingest customers and orders, and read ingestion jobs"},
      {"segments:read", "Read segments and preview audiences"},
      {"segments:manage", "Create, change and delete segments"},
      {"campaigns:read", "Read campaigns and their stats"},
      {"campaigns:create", "Create and send campaigns"},
      {"projects:read_own", "Read the projects you own and those of your customers"},
      {"projects:read_all", "Read every project"},
      {"projects:write_own", "Create projects you own on your customers, and change them"},
      {"projects:write_all", "Create and change every project, for any owner"},
      {"tasks:read_own", "Read the tasks assigned to you and those of your customers"},
      {"tasks:read_all", "Read every task"},
      {"tasks:write_own", "Create tasks for yourself on your customers; change your tasks"},
      {"tasks:write_all", "Create tasks for anyone, and change every task"},
      {"worklogs:read_own", "Read your work logs and those on your customers"},
      {"worklogs:read_all", "Read every work log"},
      {"worklogs:write_own", "Log your own work"},
      {"worklogs:write_all", "Log work for any user"},
      {"products:read", "Read the product catalogue"},
      {"products:write", "Create, replace and deactivate products"},
      {"promotions:read", "Read the promotions"},
      {"promotions:write", "Create, replace and deactivate promotions"},
      {"promotions:assign_own",
       "Give promotions to your customers, and read the promotions they were given"},
      {"promotions:assign_all",
       "Give promotions to every customer, and read the promotions every customer was given"},
      {"transactions:read_own",
       "Read the payments and refunds of your customers, and their orders' balances"},
      {"transactions:read_all", "Read every payment and refund, and every order's balance"},
      {"transactions:write_own", "Record payments and refunds of your customers"},
      {"transactions:write_all", "Record payments and refunds of every customer"},
      {"levels:read", "Read the loyalty levels, their thresholds and counts"},
      {"levels:write", "Change the loyalty levels' settings (thresholds, mode, bounds)"},
      {"users:read", "List users"},
      {"users:manage", "Register, change and disable users; assign roles"},
      {"roles:manage", "Define roles and permissions"},
      {"system:admin", "Projection admin (state, rebuilds) and metrics"},
  };
  return kPermissions;
}

const std::vector<RoleInfo>& BuiltinRoles() {
  static const std::vector<RoleInfo> kRoles = [] {
    RoleInfo admin{std::string(kRoleAdmin), "Administrator: full system access", {}, true};
    for (const auto& p : BuiltinPermissions()) admin.permissions.insert(p.name);
    RoleInfo manager{
        std::string(kRoleManager),
        "Sales manager: every customer and order, segments, campaigns and the team's work",
        {"customers:create",  "customers:read_all", "customers:update_all", "customers:assign",
         "orders:create_all", "orders:read_all",    "orders:update_all",    "ingest:run",
         "segments:read",     "segments:manage",    "campaigns:read",       "campaigns:create",
         "projects:read_all", "projects:write_all", "tasks:read_all",       "tasks:write_all",
         "worklogs:read_all", "worklogs:write_all", "products:read",        "products:write",
         "levels:read", "users:read"},
        true};
    RoleInfo rep{std::string(kRoleSalesRep),
                 "Sales rep: the customers assigned to them, their tasks, projects and work logs",
                 {"customers:create", "customers:read_own", "customers:update_own",
                  "orders:create_own", "orders:read_own", "orders:update_own", "segments:read",
                  "campaigns:read", "projects:read_own", "projects:write_own", "tasks:read_own",
                  "tasks:write_own", "worklogs:read_own", "worklogs:write_own", "products:read",
                  "levels:read"},
                 true};
    // Payments and refunds (issue 16): a manager's of every customer, a rep's of their own.
    manager.permissions.insert({"transactions:read_all", "transactions:write_all"});
    rep.permissions.insert({"transactions:read_own", "transactions:write_own"});
    // Promotions (issue 16): every role reads them; admins and managers define them and give
    // them to any customer, a rep gives them to their own.
    manager.permissions.insert({"promotions:read", "promotions:write", "promotions:assign_all"});
    rep.permissions.insert({"promotions:read", "promotions:assign_own"});
    return std::vector<RoleInfo>{admin, manager, rep};
  }();
  return kRoles;
}

namespace {
bool IsWord(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}
}  // namespace

bool IsPermissionName(std::string_view name) {
  const size_t colon = name.find(':');
  return name.size() <= 64 && colon != std::string_view::npos && IsWord(name.substr(0, colon)) &&
         IsWord(name.substr(colon + 1));
}

bool IsRoleName(std::string_view name) { return name.size() <= 32 && IsWord(name); }

Scope ScopeOf(const PermissionSet& permissions, std::string_view resource,
              std::string_view action) {
  // "<resource>:<action>_all", then "_own", built on the stack: this runs on every request.
  char key[96];
  const size_t base = resource.size() + 1 + action.size();
  if (base + 4 > sizeof key) return Scope::kNone;  // no permission is that long
  resource.copy(key, resource.size());
  key[resource.size()] = ':';
  action.copy(key + resource.size() + 1, action.size());
  std::memcpy(key + base, "_all", 4);
  if (permissions.find(std::string_view(key, base + 4)) != permissions.end()) return Scope::kAll;
  std::memcpy(key + base, "_own", 4);
  if (permissions.find(std::string_view(key, base + 4)) != permissions.end()) return Scope::kOwn;
  return Scope::kNone;
}

}  // namespace keel
