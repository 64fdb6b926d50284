#include "policy_store/language/database_types.h"

#include <algorithm>
#include <array>

namespace weftkit::policy {
namespace {

// PostgreSQL's table privileges.
constexpr std::array<std::string_view, 7> kRelationalActions = {
    "select", "insert", "update", "delete", "truncate", "references", "trigger"};
// MongoDB's collection-level operations, grouped the way its built-in privileges group them.
constexpr std::array<std::string_view, 8> kDocumentActions = {
    "find", "insert", "update", "remove", "aggregate", "create_index", "drop_index", "drop"};
// Cypher's reading and writing clauses, per label.
constexpr std::array<std::string_view, 6> kGraphActions = {"match", "create", "merge",
                                                           "set",   "remove", "delete"};
constexpr std::array<std::string_view, 6> kKeyValueActions = {"get",  "put",   "delete",
                                                              "scan", "watch", "expire"};
constexpr std::array<std::string_view, 4> kFileActions = {"read", "write", "delete", "list"};

constexpr std::array<DatabaseTypeInfo, 5> kTypes = {{
    {DatabaseType::kRelational, "relational", kRelationalActions, '.', 2, false, false},
    {DatabaseType::kDocument, "document", kDocumentActions, '.', 0, false, false},
    {DatabaseType::kGraph, "graph", kGraphActions, 0, 1, false, false},
    {DatabaseType::kKeyValue, "key_value", kKeyValueActions, ':', 0, false, false},
    {DatabaseType::kFile, "file", kFileActions, '/', 0, true, true},
}};

}  // namespace

std::optional<DatabaseTypeInfo> FindDatabaseType(std::string_view name) {
  for (const DatabaseTypeInfo& info : kTypes) {
    if (info.name == name) return info;
  }
  return std::nullopt;
}

const DatabaseTypeInfo& DatabaseTypeOf(DatabaseType type) {
  return kTypes[static_cast<std::size_t>(type)];
}

std::span<const DatabaseTypeInfo> AllDatabaseTypes() { return kTypes; }

bool IsActionOf(const DatabaseTypeInfo& info, std::string_view action) {
  return std::find(info.actions.begin(), info.actions.end(), action) != info.actions.end();
}

}  // namespace weftkit::policy
