// core/ids.h: validated identifiers as distinct types, so an obligation id can never be
// passed where an account id is expected (contract 1: 1 to 64 of A-Z a-z 0-9 . _ : -).
//   Result<AccountId> a = AccountId::parse("ACC1");
//   ObligationId o = ObligationId::parse("O1").value();
#pragma once

#include <compare>
#include <functional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "core/result.h"

namespace paydist {

inline constexpr std::size_t kMaxIdLength = 64;
bool is_valid_id(std::string_view text);

template <class Tag>
class BasicId {
 public:
  BasicId() = default;
  static Result<BasicId> parse(std::string_view text) {
    if (!is_valid_id(text))
      return Error{fmt::format("invalid {} \"{}\": need 1 to 64 of A-Z a-z 0-9 . _ : -", Tag::kName,
                               text.substr(0, 80))};
    return BasicId{std::string{text}};
  }
  // For ids read back from our own store, already validated once.
  static BasicId trusted(std::string_view text) { return BasicId{std::string{text}}; }

  const std::string& str() const { return value_; }
  std::string_view view() const { return value_; }
  bool empty() const { return value_.empty(); }

  auto operator<=>(const BasicId&) const = default;
  bool operator==(const BasicId&) const = default;

 private:
  explicit BasicId(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

struct EventIdTag { static constexpr const char* kName = "event_id"; };
struct AccountIdTag { static constexpr const char* kName = "account_id"; };
struct ObligationIdTag { static constexpr const char* kName = "obligation_id"; };
struct ArrangementIdTag { static constexpr const char* kName = "arrangement_id"; };
struct PaymentIdTag { static constexpr const char* kName = "payment_id"; };

using EventId = BasicId<EventIdTag>;
using AccountId = BasicId<AccountIdTag>;
using ObligationId = BasicId<ObligationIdTag>;
using ArrangementId = BasicId<ArrangementIdTag>;
using PaymentId = BasicId<PaymentIdTag>;

}  // namespace paydist

template <class Tag>
struct std::hash<paydist::BasicId<Tag>> {
  std::size_t operator()(const paydist::BasicId<Tag>& id) const noexcept {
    return std::hash<std::string>{}(id.str());
  }
};

template <class Tag>
struct fmt::formatter<paydist::BasicId<Tag>> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(const paydist::BasicId<Tag>& id, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(id.view(), ctx);
  }
};
