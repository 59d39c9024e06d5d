// core/date.cpp: civil-date arithmetic (Howard Hinnant's days_from_civil algorithms).
#include "core/date.h"

namespace paydist {
namespace {

std::int32_t days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

int days_in_month(int year, int month) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

bool Date::is_valid_civil(CivilDate c) {
  return c.year >= 1 && c.year <= 9999 && c.month >= 1 && c.month <= 12 && c.day >= 1 &&
         c.day <= days_in_month(c.year, c.month);
}

Date Date::from_civil(CivilDate c) { return Date{days_from_civil(c.year, c.month, c.day)}; }
Date Date::min_valid() { return from_civil({1, 1, 1}); }
Date Date::max_valid() { return from_civil({9999, 12, 31}); }
bool Date::in_contract_range() const { return *this >= min_valid() && *this <= max_valid(); }

CivilDate Date::civil() const {
  const int z = serial_ + 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const int doe = z - era * 146097;
  const int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int y = yoe + era * 400;
  const int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int mp = (5 * doy + 2) / 153;
  const int d = doy - (153 * mp + 2) / 5 + 1;
  const int m = mp + (mp < 10 ? 3 : -9);
  return {y + (m <= 2), m, d};
}

Result<Date> Date::parse(std::string_view text) {
  auto fail = [&] { return Error{fmt::format("invalid date \"{}\": expected YYYY-MM-DD", text.substr(0, 40))}; };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return fail();
  auto digits = [&](std::size_t from, std::size_t count, int& out) {
    out = 0;
    for (std::size_t i = from; i < from + count; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      out = out * 10 + (text[i] - '0');
    }
    return true;
  };
  CivilDate c{};
  if (!digits(0, 4, c.year) || !digits(5, 2, c.month) || !digits(8, 2, c.day)) return fail();
  if (!is_valid_civil(c))
    return Error{fmt::format("invalid date \"{}\": no such calendar day", text)};
  return from_civil(c);
}

Date Date::plus_months_clamped(std::int32_t months) const {
  CivilDate c = civil();
  const int index = c.year * 12 + (c.month - 1) + months;
  const int year = index / 12;
  const int month = index % 12 + 1;
  const int day = c.day <= days_in_month(year, month) ? c.day : days_in_month(year, month);
  return Date{days_from_civil(year, month, day)};
}

void Date::append_to(std::string& out) const {
  CivilDate c = civil();
  char buf[16];
  auto n = fmt::format_to_n(buf, sizeof buf, "{:04}-{:02}-{:02}", c.year, c.month, c.day).size;
  out.append(buf, n);
}

std::string Date::to_string() const {
  std::string out;
  append_to(out);
  return out;
}

}  // namespace paydist
