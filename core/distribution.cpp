// core/distribution.cpp: payment distribution, steps 1-5 of contract 3.
// Pure: changes the account copy it is given and appends outputs; never touches storage.
#include "core/distribution.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "core/instalments.h"
#include "core/invariant.h"

namespace paydist {
namespace {

bool is_capped_discount(const Arrangement* a) {
  return a && a->kind == ArrangementKind::discount &&
         (a->status == ArrangementStatus::current || a->status == ArrangementStatus::broken);
}

class PaymentRun {
 public:
  PaymentRun(Account& account, std::uint32_t payment_index, const Payment& payment, Context& ctx)
      : account_(account), payment_index_(payment_index), payment_(payment), ctx_(ctx), remaining_(payment.amount) {}

  // contract 3 step 5: within one obligation, tax before penalty before interest.
  void pay_obligation(const ObligationId& id) {
    Obligation* obligation = account_.find_obligation(id);
    PAYDIST_INVARIANT(obligation != nullptr);
    for (Component component : kComponents) {
      if (remaining_.is_zero()) return;
      Money& balance = obligation->balance[component];
      if (!balance.is_positive()) continue;
      Arrangement* cover = cover_of(id);
      Money take = min(balance, remaining_);
      bool settles = false;
      if (is_capped_discount(cover)) {
        // contract 6: capped at settlement minus the money applied so far.
        const Money cap = *cover->settlement.checked_sub(cover->applied());
        PAYDIST_INVARIANT(cap.is_positive());
        if (take >= cap) {
          take = cap;
          settles = true;
        }
      }
      balance = *balance.checked_sub(take);
      remaining_ = *remaining_.checked_sub(take);
      lines_.push_back(DistributionLine{id, component, take});
      if (cover) flow_part(*cover, PaymentPart{payment_index_, take}, first_open(*cover));  // contract 6: any step counts
      if (settles) {
        settle_discount(account_, *cover, payment_.payment_id, ctx_);
        // Closed now, it covers nothing. Its obligations were all written off to zero, so a
        // stale entry would never be asked for; rebuilt anyway, to stay what covering() says.
        covers_built_ = false;
        return;
      }
    }
  }

  void pay_arrangement(std::size_t index) {
    // Re-read by index each time: the vector is not resized during a payment.
    const Arrangement& a = account_.arrangements[index];
    if (a.status != ArrangementStatus::current && a.status != ArrangementStatus::broken) return;
    for (std::size_t i = 0; i < account_.arrangements[index].covered.size() && !remaining_.is_zero(); ++i)
      pay_obligation(account_.arrangements[index].covered[i]);
  }

  void run() {
    // Step 1: a designated obligation with a balance.
    if (payment_.obligation_id) pay_obligation(*payment_.obligation_id);
    // Step 2: the named arrangement if current/broken (no fall-back, contract 6); without
    // one, every current/broken arrangement in creation order.
    if (payment_.arrangement_id) {
      for (std::size_t i = 0; i < account_.arrangements.size(); ++i)
        if (account_.arrangements[i].id == *payment_.arrangement_id) pay_arrangement(i);
    } else {
      for (std::size_t i = 0; i < account_.arrangements.size() && !remaining_.is_zero(); ++i) pay_arrangement(i);
    }
    // Step 3: every obligation with a balance, by (due_date, obligation_id).
    if (!remaining_.is_zero()) {
      std::vector<const Obligation*> order;
      for (const Obligation& o : account_.obligations)
        if (o.total().is_positive()) order.push_back(&o);
      std::sort(order.begin(), order.end(), [](const Obligation* a, const Obligation* b) {
        return a->due_date != b->due_date ? a->due_date < b->due_date : a->id < b->id;
      });
      std::vector<ObligationId> ids;
      ids.reserve(order.size());
      for (const Obligation* o : order) ids.push_back(o->id);
      for (const ObligationId& id : ids) {
        if (remaining_.is_zero()) break;
        pay_obligation(id);
      }
    }
    // Step 4: the rest is credit, kept until this payment is returned.
  }

  std::vector<DistributionLine> take_lines() { return std::move(lines_); }
  Money credit() const { return remaining_; }

 private:
  // What Account::covering(id) answers, for every obligation at once: built on first use and
  // again after a settlement closes an arrangement, so a payment over n covered obligations
  // costs n lookups, not n x covered ids x components (245 us for 100 obligations before).
  Arrangement* cover_of(const ObligationId& id) {
    if (!covers_built_) {
      covers_.clear();
      for (Arrangement& a : account_.arrangements) {
        if (!is_open(a.status)) continue;
        for (const ObligationId& covered : a.covered) covers_.try_emplace(covered.str(), &a);  // the first wins, as in covering()
      }
      covers_built_ = true;
    }
    const auto it = covers_.find(id.str());
    return it == covers_.end() ? nullptr : it->second;
  }

  // Where flow_part resumes in each arrangement: within one payment money only flows in.
  std::size_t& first_open(const Arrangement& a) {
    if (first_open_.empty()) first_open_.assign(account_.arrangements.size(), 0);
    const auto index = static_cast<std::size_t>(&a - account_.arrangements.data());
    PAYDIST_INVARIANT(index < first_open_.size());
    return first_open_[index];
  }

  Account& account_;
  std::uint32_t payment_index_;
  const Payment& payment_;
  Context& ctx_;
  Money remaining_;
  std::vector<DistributionLine> lines_;
  std::unordered_map<std::string_view, Arrangement*> covers_;
  bool covers_built_ = false;
  std::vector<std::size_t> first_open_;
};

}  // namespace

void settle_discount(Account& account, Arrangement& arrangement, const std::optional<PaymentId>& payment_id,
                     Context& ctx) {
  Distribution write_off{.event_id = ctx.event_id,
                         .account_id = account.id,
                         .payment_id = payment_id,
                         .kind = DistributionKind::write_off,
                         .business_date = ctx.business_date,
                         .lines = {},
                         .credit = Money::zero(),
                         .arrangement_id = arrangement.id,
                         .reason_code = std::nullopt};
  for (const ObligationId& id : arrangement.covered) {
    Obligation* obligation = account.find_obligation(id);
    PAYDIST_INVARIANT(obligation != nullptr);
    for (Component component : kComponents) {
      Money& balance = obligation->balance[component];
      if (!balance.is_positive()) continue;
      write_off.lines.push_back(DistributionLine{id, component, balance});
      balance = Money::zero();
    }
  }
  arrangement.status = ArrangementStatus::completed;
  arrangement.closing_date = ctx.business_date;
  ctx.activity(account, ActivityType::arrangement_completed).arrangement_id = arrangement.id;
  // contract 6: a write_off distribution is emitted only when it has lines.
  if (!write_off.lines.empty()) ctx.outputs.distributions.push_back(std::move(write_off));
}

void distribute_payment(Account& account, std::uint32_t payment_index, const Payment& payment, Context& ctx) {
  // The applied distribution goes first so the ledger sees money in before any write-off.
  const std::size_t applied_at = ctx.outputs.distributions.size();
  ctx.outputs.distributions.push_back(Distribution{.event_id = ctx.event_id,
                                                   .account_id = account.id,
                                                   .payment_id = payment.payment_id,
                                                   .kind = DistributionKind::applied,
                                                   .business_date = ctx.business_date});
  PaymentRun run{account, payment_index, payment, ctx};
  run.run();
  PaymentRecord& record = account.payments[payment_index];
  record.lines = run.take_lines();
  record.credit = run.credit();
  Distribution& applied = ctx.outputs.distributions[applied_at];
  applied.lines = record.lines;
  applied.credit = record.credit;
}

}  // namespace paydist
