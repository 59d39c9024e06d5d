// core/date.h: a civil business date (no time of day, no time zone, no clock reads).
// Stored as a day serial so that comparisons and day arithmetic are integer operations.
//   Result<Date> d = Date::parse("2026-01-31");
//   Date feb = d->plus_months_clamped(1);   // 2026-02-28
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "core/result.h"

namespace paydist {

struct CivilDate {
  int year;
  int month;  // 1..12
  int day;    // 1..31
};

class Date {
 public:
  constexpr Date() = default;
  // contract 6: dates run from 0001-01-01 to 9999-12-31, strictly YYYY-MM-DD.
  static Result<Date> parse(std::string_view text);
  static Date from_civil(CivilDate civil);  // the civil date must be valid
  static constexpr Date from_serial(std::int32_t serial) { return Date{serial}; }
  static bool is_valid_civil(CivilDate civil);
  static Date min_valid();
  static Date max_valid();

  CivilDate civil() const;
  constexpr std::int32_t serial() const { return serial_; }
  bool in_contract_range() const;

  // Deadlines may fall past 9999-12-31; such a date is never reached by a business date.
  constexpr Date plus_days(std::int32_t days) const { return Date{serial_ + days}; }
  // Same day of month `months` later, or that month's last day when it is shorter.
  Date plus_months_clamped(std::int32_t months) const;

  std::string to_string() const;
  void append_to(std::string& out) const;

  constexpr auto operator<=>(const Date&) const = default;

 private:
  constexpr explicit Date(std::int32_t serial) : serial_(serial) {}
  std::int32_t serial_ = 0;  // days since 1970-01-01
};

int days_in_month(int year, int month);

}  // namespace paydist

template <>
struct fmt::formatter<paydist::Date> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(paydist::Date d, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(d.to_string(), ctx);
  }
};
