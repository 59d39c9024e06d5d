// core/messages.cpp: names of the enums as the contract spells them, and message accessors.
#include "core/messages.h"

#include "core/invariant.h"

namespace paydist {

const char* to_string(Component c) {
  switch (c) {
    case Component::tax: return "tax";
    case Component::penalty: return "penalty";
    case Component::interest: return "interest";
  }
  return "?";
}

const char* to_string(ArrangementKind k) {
  switch (k) {
    case ArrangementKind::cash: return "cash";
    case ArrangementKind::direct_debit: return "direct_debit";
    case ArrangementKind::discount: return "discount";
  }
  return "?";
}

const char* to_string(RequestedBy r) { return r == RequestedBy::agency ? "agency" : "customer"; }

const EventId& event_id_of(const Message& m) {
  return std::visit([](const auto& msg) -> const EventId& { return msg.event_id; }, m);
}

const AccountId* account_id_of(const Message& m) {
  return std::visit(
      [](const auto& msg) -> const AccountId* {
        if constexpr (std::is_same_v<std::decay_t<decltype(msg)>, BusinessDate>) {
          return nullptr;
        } else {
          return &msg.account_id;
        }
      },
      m);
}

AccountMessage to_account_message(Message m) {
  PAYDIST_INVARIANT(!std::holds_alternative<BusinessDate>(m));
  return std::visit(
      [](auto&& msg) -> AccountMessage {
        if constexpr (std::is_same_v<std::decay_t<decltype(msg)>, BusinessDate>) {
          std::abort();
        } else {
          return AccountMessage{std::move(msg)};
        }
      },
      std::move(m));
}

}  // namespace paydist
