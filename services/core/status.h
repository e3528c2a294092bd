// Status and StatusOr: errors at module boundaries.
//
// Codes equal gRPC's (and absl's) so the RPC edge converts without a table.
// Expected outcomes (a cache miss, a full queue) are plain values, not errors;
// a violated invariant uses KREPLAY_CHECK and traps.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

namespace kreplay {

enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: spec.yaml:12: variants[0].model: unknown model 'x'"
  std::string ToString() const;
  // Returns a copy with "context: " prepended to the message.
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return {}; }
inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
const char* StatusCodeName(StatusCode code);

// A value or an error. REQUIRES: value() only when ok().
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  StatusOr(Status status) : status_(std::move(status)) {
    if (status_.ok()) status_ = Internal("StatusOr constructed from OK status without a value");
  }
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { Check(); return *value_; }
  const T& value() const& { Check(); return *value_; }
  T&& value() && { Check(); return std::move(*value_); }
  T* operator->() { Check(); return &*value_; }
  const T* operator->() const { Check(); return &*value_; }
  T& operator*() { Check(); return *value_; }
  const T& operator*() const { Check(); return *value_; }

 private:
  void Check() const {
    if (!value_) {
      std::fprintf(stderr, "StatusOr::value() on error: %s\n", status_.ToString().c_str());
      std::abort();
    }
  }
  Status status_;
  std::optional<T> value_;
};

[[noreturn]] void CheckFailed(const char* file, int line, const char* expr, const std::string& msg);

}  // namespace kreplay

// Invariant checks: trap with the location. Never for input validation.
#define KREPLAY_CHECK(cond, msg)                                                  \
  do {                                                                            \
    if (!(cond)) ::kreplay::CheckFailed(__FILE__, __LINE__, #cond, (msg));        \
  } while (0)

#define KREPLAY_RETURN_IF_ERROR(expr)         \
  do {                                        \
    ::kreplay::Status _st = (expr);           \
    if (!_st.ok()) return _st;                \
  } while (0)

#define KREPLAY_CONCAT_INNER(a, b) a##b
#define KREPLAY_CONCAT(a, b) KREPLAY_CONCAT_INNER(a, b)
#define KREPLAY_ASSIGN_OR_RETURN(lhs, expr)                                  \
  auto KREPLAY_CONCAT(_so_, __LINE__) = (expr);                              \
  if (!KREPLAY_CONCAT(_so_, __LINE__).ok())                                  \
    return KREPLAY_CONCAT(_so_, __LINE__).status();                          \
  lhs = std::move(KREPLAY_CONCAT(_so_, __LINE__)).value()
