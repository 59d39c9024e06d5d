// core/money.cpp: parsing, printing and checked arithmetic of Money.
#include "core/money.h"

#include <limits>

namespace paydist {

Result<Money> Money::parse(std::string_view text, Sign sign) {
  const std::string_view original = text;
  auto fail = [&](const char* why) {
    return Error{fmt::format("invalid money \"{}\": {}", original.substr(0, 40), why)};
  };
  bool negative = false;
  if (!text.empty() && text.front() == '-') {
    if (sign == Sign::unsigned_only) return fail("must not be negative");
    negative = true;
    text.remove_prefix(1);
  }
  std::size_t dot = text.find('.');
  std::string_view integer = text.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (integer.empty()) return fail("needs 1 to 13 integer digits");
  if (integer.size() > 13) return fail("more than 13 integer digits");
  if (dot != std::string_view::npos && (fraction.empty() || fraction.size() > 2))
    return fail("needs 1 or 2 fraction digits after '.'");
  std::int64_t cents = 0;
  for (char c : integer) {
    if (c < '0' || c > '9') return fail("not a decimal number");
    cents = cents * 10 + (c - '0');
  }
  for (std::size_t i = 0; i < 2; ++i) {
    char c = i < fraction.size() ? fraction[i] : '0';
    if (c < '0' || c > '9') return fail("not a decimal number");
    cents = cents * 10 + (c - '0');
  }
  return Money{negative ? -cents : cents};
}

std::optional<Money> Money::checked_add(Money other) const {
  std::int64_t out = 0;
  if (__builtin_add_overflow(cents_, other.cents_, &out)) return std::nullopt;
  return Money{out};
}

std::optional<Money> Money::checked_sub(Money other) const {
  std::int64_t out = 0;
  if (__builtin_sub_overflow(cents_, other.cents_, &out)) return std::nullopt;
  return Money{out};
}

void Money::append_to(std::string& out) const {
  // Work in unsigned so that INT64_MIN prints correctly.
  std::uint64_t magnitude = cents_ < 0 ? 0 - static_cast<std::uint64_t>(cents_) : static_cast<std::uint64_t>(cents_);
  char buf[32];
  char* end = buf + sizeof buf;
  char* p = end;
  *--p = static_cast<char>('0' + magnitude % 10);
  magnitude /= 10;
  *--p = static_cast<char>('0' + magnitude % 10);
  magnitude /= 10;
  *--p = '.';
  do {
    *--p = static_cast<char>('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude != 0);
  if (cents_ < 0) *--p = '-';
  out.append(p, static_cast<std::size_t>(end - p));
}

std::string Money::to_string() const {
  std::string out;
  append_to(out);
  return out;
}

}  // namespace paydist
