// The one error type shared by every module, and Result<T>, the value-or-error return type.
//
// Failures that input or the environment can cause are values of these types, never exceptions
// or asserts. Exceptions thrown by libraries are caught in the adapter that calls them and turned
// into an Error there. The HTTP status of an Error is decided once, at the edge (api/), from its
// kind.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace weftkit {

// The broad category of a failure. It decides the HTTP status and whether retrying can help.
enum class ErrorKind {
  kInvalidArgument,     // the request is malformed or names something impossible (400)
  kUnauthenticated,     // no or bad credentials (401)
  kPermissionDenied,    // authenticated but not allowed (403)
  kNotFound,            // the named object does not exist (404)
  kAlreadyExists,       // creating something that exists (409)
  kConflict,            // a concurrent change won; re-read and retry (409)
  kFailedPrecondition,  // the object's state forbids it, e.g. a disabled key version (422)
  kPayloadTooLarge,     // a body or batch over the configured limit (413)
  kResourceExhausted,   // a queue or rate limit is full; retry later (429/503)
  kUnavailable,         // a dependency (HSM, store) is down; retry later (503)
  kDeadlineExceeded,    // an operation ran out of time (504)
  kDataLoss,            // stored or supplied data failed an integrity check
  kInternal,            // a bug or an unexpected library failure (500)
};

// Returns a lower-case name of `kind`, for logs and metrics.
const char* ErrorKindName(ErrorKind kind);

// A failure: its kind, a stable machine-readable code that clients may rely on
// (e.g. "envelope_truncated"), and a detail message for operators.
//
// The detail is internal: it may name files, PKCS#11 return codes and key names, but never key
// material, plaintext, PINs, passwords or tokens. It is written to logs and never sent to clients.
class Error {
 public:
  Error(ErrorKind kind, std::string code, std::string detail)
      : kind_(kind), code_(std::move(code)), detail_(std::move(detail)) {}

  ErrorKind kind() const { return kind_; }
  const std::string& code() const { return code_; }
  const std::string& detail() const { return detail_; }

  // "code: detail", for logs.
  std::string ToString() const { return code_ + ": " + detail_; }

 private:
  ErrorKind kind_;
  std::string code_;
  std::string detail_;
};

// Holds either a T or an Error. Check ok() before value(); value() on an error is a bug.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(state_); }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  const Error& error() const { return std::get<Error>(state_); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> state_;
};

// The success-or-error result of an operation that returns nothing.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT: implicit by design

  bool ok() const { return !failed_; }
  const Error& error() const { return error_; }

 private:
  Error error_{ErrorKind::kInternal, "", ""};
  bool failed_ = false;
};

using Status = Result<void>;

inline Status OkStatus() { return Status(); }

}  // namespace weftkit

#define WK_CONCAT_INNER(a, b) a##b
#define WK_CONCAT(a, b) WK_CONCAT_INNER(a, b)

// Evaluates `expr` (a Result) and returns its error from the enclosing function if it failed.
#define WK_RETURN_IF_ERROR(expr) WK_RETURN_IF_ERROR_IMPL(WK_CONCAT(wk_status_, __COUNTER__), expr)
#define WK_RETURN_IF_ERROR_IMPL(tmp, expr) \
  do {                                     \
    auto&& tmp = (expr);                   \
    if (!tmp.ok()) return tmp.error();     \
  } while (false)

// Evaluates `expr` (a Result<T>); on error returns it, otherwise moves the value into `lhs`,
// which may be a declaration such as `auto x`.
#define WK_ASSIGN_OR_RETURN(lhs, expr) \
  WK_ASSIGN_OR_RETURN_IMPL(WK_CONCAT(wk_result_, __COUNTER__), lhs, expr)
#define WK_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.error();             \
  lhs = std::move(tmp).value()
