// Status: the one error-reporting type inside Strata. Every internal function that can fail returns
// a Status (or Result<T>); src/api turns it into a strataResult_t plus the last-error text. No
// exception crosses the C API.
#pragma once

#include <strata/strata.h>

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace strata {

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(strataResult_t code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  bool isOk() const { return code_ == strataSuccess; }
  strataResult_t code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefix context ("allreduce: ") while the error travels up; a success builds no string.
  Status withContext(std::string_view context) const {
    if (isOk()) return *this;
    return {code_, std::string(context) + message_};
  }

 private:
  strataResult_t code_ = strataSuccess;
  std::string message_;
};

inline Status invalidArgument(std::string m) { return {strataInvalidArgument, std::move(m)}; }
inline Status invalidUsage(std::string m) { return {strataInvalidUsage, std::move(m)}; }
inline Status systemError(std::string m) { return {strataSystemError, std::move(m)}; }
inline Status internalError(std::string m) { return {strataInternalError, std::move(m)}; }
inline Status remoteError(std::string m) { return {strataRemoteError, std::move(m)}; }
inline Status timeoutError(std::string m) { return {strataTimeout, std::move(m)}; }

// Value or Status. Kept tiny on purpose: `ok()`, `status()`, `value()`.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : state_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(state_); }
  Status status() const { return ok() ? Status::ok() : std::get<Status>(state_); }
  T& value() { return std::get<T>(state_); }
  const T& value() const { return std::get<T>(state_); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace strata

#define STRATA_RETURN_IF_ERROR(expr)            \
  do {                                          \
    ::strata::Status strata_status_ = (expr);   \
    if (!strata_status_.isOk()) return strata_status_; \
  } while (0)
