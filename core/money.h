// core/money.h: an amount of money as integer minor units (cents). Never floating point.
// Arithmetic is checked: an overflow is reported as a failed optional, never wraps.
//   auto m = Money::parse("1234.56", Sign::unsigned_only);   // Result<Money>
//   std::optional<Money> sum = m->checked_add(Money::from_cents(1));
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "core/result.h"

namespace paydist {

enum class Sign { unsigned_only, signed_allowed };

class Money {
 public:
  constexpr Money() = default;
  static constexpr Money from_cents(std::int64_t cents) { return Money{cents}; }
  static constexpr Money zero() { return Money{0}; }

  // contract 1 and 6: optional '-' (signed fields only), 1 to 13 integer digits (leading
  // zeros count), optional '.' with 1 or 2 fraction digits; nothing else.
  static Result<Money> parse(std::string_view text, Sign sign);

  constexpr std::int64_t cents() const { return cents_; }
  constexpr bool is_zero() const { return cents_ == 0; }
  constexpr bool is_positive() const { return cents_ > 0; }
  constexpr bool is_negative() const { return cents_ < 0; }

  std::optional<Money> checked_add(Money other) const;
  std::optional<Money> checked_sub(Money other) const;

  // Exactly two fraction digits, '-' for negatives: "1234.56", "-0.05".
  std::string to_string() const;
  // Appends the same text to out without allocating a temporary.
  void append_to(std::string& out) const;

  constexpr auto operator<=>(const Money&) const = default;

 private:
  constexpr explicit Money(std::int64_t cents) : cents_(cents) {}
  std::int64_t cents_ = 0;
};

constexpr Money min(Money a, Money b) { return a < b ? a : b; }

// Largest amount the contract lets a message carry: 13 integer digits, 2 fraction digits.
inline constexpr std::int64_t kMaxMessageCents = 999'999'999'999'999;

}  // namespace paydist

template <>
struct fmt::formatter<paydist::Money> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(paydist::Money m, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(m.to_string(), ctx);
  }
};
