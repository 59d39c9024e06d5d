// core/result.h: the value-or-reason type for expected failures (bad input).
// Broken invariants are not Results: they assert (see core/invariant.h).
//   Result<Money> m = Money::parse("12.30", Sign::unsigned_only);
//   if (!m) return Error{m.error()};
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace paydist {

// A one-line human-readable reason. Constructed explicitly so that a bare string
// is never mistaken for a value.
struct Error {
  std::string reason;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}           // NOLINT: implicit on purpose
  Result(Error error) : state_(std::move(error)) {}       // NOLINT: implicit on purpose

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const std::string& error() const { return std::get<1>(state_).reason; }

 private:
  std::variant<T, Error> state_;
};

// For operations that succeed with no value.
struct Ok {};
using Status = Result<Ok>;

}  // namespace paydist
