// core/distribution.h: spreads one payment over an account's debt (contract 3 steps 1-5,
// contract 6 "Distribution"), counts covered money towards instalments, and settles
// discount arrangements mid-payment.
//   distribute_payment(account, payment_index, payment, ctx);   // lines + credit recorded
#pragma once

#include <optional>

#include "core/account.h"
#include "core/engine.h"

namespace paydist {

// The payment record at payment_index must exist with its amount set; this fills its lines
// and credit, changes balances and instalments, and emits the applied distribution (and any
// write-off and completion it causes).
void distribute_payment(Account& account, std::uint32_t payment_index, const Payment& payment, Context& ctx);

// Writes off the rest of a discount arrangement's covered balances and completes it
// (contract 6 "Discount"). payment_id is null when an activation triggered it.
void settle_discount(Account& account, Arrangement& arrangement, const std::optional<PaymentId>& payment_id,
                     Context& ctx);

}  // namespace paydist
