// Structured logging: one JSON object per line on stderr.
//
// Log lines carry request ids, principals, key names, key versions, file paths and PKCS#11
// return-code names. They never carry key material, plaintext, PINs, passwords or tokens, which
// is why Field takes string values only and SecretBytes cannot be turned into one.
// The crypto core (pkcs11/, kms/envelope) returns errors and does not log.
//
// Thread-safe: each line is written with a single write(2) call.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace weftkit::log {

enum class Level { kDebug, kInfo, kWarning, kError };

struct Field {
  std::string_view key;
  std::string value;
};

// Lines below `level` are dropped. The default is kInfo.
void SetLevel(Level level);

// Writes {"ts":..., "level":..., "event":..., <fields>} as one line.
void Write(Level level, std::string_view event, std::initializer_list<Field> fields = {});

inline void Debug(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kDebug, event, fields);
}
inline void Info(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kInfo, event, fields);
}
inline void Warning(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kWarning, event, fields);
}
inline void Error(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kError, event, fields);
}

}  // namespace weftkit::log
