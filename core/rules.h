// core/rules.h: the configurable numbers of the business rules (contract 6, "Configuration
// keys"). Plain data: loaded from TOML at the edge (config/), passed into the engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/money.h"

namespace paydist {

struct Rules {
  std::string currency = "AUD";
  std::int32_t cash_grace_days = 14;
  std::int32_t dd_return_grace_days = 3;
  std::int32_t review_notice_days = 28;
  Money no_arrangement_threshold = Money::from_cents(150'000);
  std::size_t max_instalments = 1000;
  std::size_t max_message_bytes = 1 << 20;
  // Bounds that keep one account's record finite (not in the contract; docs/decisions.md,
  // "Per-account bounds"): a message that would pass one is rejected, naming it.
  std::size_t max_obligations_per_account = 10'000;
  std::size_t max_arrangements_per_account = 1'000;
  std::size_t max_payments_per_account = 100'000;
  std::size_t max_pending_reviews_per_account = 1'000;  // agency reviews waiting for their date
};

}  // namespace paydist
