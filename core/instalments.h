// core/instalments.h: how applied money counts towards an arrangement's instalments
// (contract 3 and 6, "Instalments"): oldest unpaid first, pay-ahead, excess, returns that
// un-pay exactly what a payment paid, skips, and the inspect status of an instalment.
//   flow_part(arrangement, PaymentPart{index, amount});     // oldest unpaid first
//   InstalmentStatus s = instalment_status(arr, arr.instalments[0], business_date, rules);
#pragma once

#include <optional>

#include "core/account.h"
#include "core/rules.h"

namespace paydist {

enum class InstalmentStatus : std::uint8_t { due, paid, missed, skipped };
const char* to_string(InstalmentStatus s);

// The date on which an unpaid instalment breaks its arrangement: due + cash grace, or for a
// direct debit that lost money through a return, the latest return date + dd grace.
Date break_deadline(const Arrangement& arrangement, const Instalment& instalment, const Rules& rules);

// contract 6: the evaluation date for `missed`: the business date for open arrangements,
// the business date at closing for activated closed ones, none for never-activated ones.
std::optional<Date> evaluation_date(const Arrangement& arrangement, std::optional<Date> business_date);

InstalmentStatus instalment_status(const Arrangement& arrangement, const Instalment& instalment,
                                   std::optional<Date> business_date, const Rules& rules);

// Puts one payment's money into the oldest unpaid, unskipped instalments; the rest to excess.
void flow_part(Arrangement& arrangement, PaymentPart part);
// The same, for a caller that flows several parts in a row (one payment's lines): the scan
// starts at `first_open` (0 the first time) and leaves it at the first instalment that may
// still take money. Valid only while nothing un-pays or re-schedules the arrangement between
// the calls: money only flowing in, the instalments before it stay full or skipped.
void flow_part(Arrangement& arrangement, PaymentPart part, std::size_t& first_open);

// Removes everything payment `payment_index` put into the arrangement; marks the
// instalments it un-paid with the return (date and reason). Returns the amount removed.
Money unpay(Arrangement& arrangement, std::uint32_t payment_index, Date return_date,
            const std::string& reason_code);

}  // namespace paydist
