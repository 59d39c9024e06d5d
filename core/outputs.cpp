// core/outputs.cpp: the contract's names for output enums (contract 4).
#include "core/outputs.h"

namespace paydist {

const char* to_string(ActivityType t) {
  switch (t) {
    case ActivityType::broken_arrangement: return "BROKEN_ARRANGEMENT";
    case ActivityType::no_arrangement: return "NO_ARRANGEMENT";
    case ActivityType::arrangement_completed: return "ARRANGEMENT_COMPLETED";
    case ActivityType::review_due: return "REVIEW_DUE";
    case ActivityType::unmatched_payment: return "UNMATCHED_PAYMENT";
  }
  return "?";
}

const char* to_string(NoArrangementTrigger t) {
  switch (t) {
    case NoArrangementTrigger::arrangement_cancelled: return "arrangement_cancelled";
    case NoArrangementTrigger::debt_due: return "debt_due";
    case NoArrangementTrigger::debt_increased: return "debt_increased";
  }
  return "?";
}

const char* to_string(DistributionKind k) {
  switch (k) {
    case DistributionKind::applied: return "applied";
    case DistributionKind::reversed: return "reversed";
    case DistributionKind::write_off: return "write_off";
  }
  return "?";
}

}  // namespace paydist
