// The database types a policy speaks about, their actions and the shape of their resource names.
//
// One table (database_types.cc) lists, per type, the actions an engine of that type enforces and
// how its resource names split into segments; docs/policy-language.md shows the same table.
//
// Thread safety: the table is constant; every function is pure.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace weftkit::policy {

enum class DatabaseType { kRelational, kDocument, kGraph, kKeyValue, kFile };

// Everything the language knows about one database type.
struct DatabaseTypeInfo {
  DatabaseType type;
  std::string_view name;                      // as written in documents and requests
  std::span<const std::string_view> actions;  // every action of this type
  char separator;                             // between the segments of a resource name; 0: none
  std::size_t segments;                       // exact segment count; 0: any (at least one)
  bool rooted;                                // resource names start with the separator ("/a/b")
  bool multi_segment_wildcard;                // "**" may stand for any number of segments
};

// The entry for `name`, or nullopt if no database type has that name.
std::optional<DatabaseTypeInfo> FindDatabaseType(std::string_view name);

// The entry for `type`.
const DatabaseTypeInfo& DatabaseTypeOf(DatabaseType type);

// Every database type, in the documented order.
std::span<const DatabaseTypeInfo> AllDatabaseTypes();

// Whether `action` is one of `info`'s actions ("*" is not: callers handle it).
bool IsActionOf(const DatabaseTypeInfo& info, std::string_view action);

}  // namespace weftkit::policy
