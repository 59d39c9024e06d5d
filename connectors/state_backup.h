// connectors/state_backup.h: a state to one file and back (`paydist backup`, `paydist
// restore`). Moves bytes only: the copy is the store's compacted snapshot, written beside its
// target, fsynced, then renamed into place, so a crash leaves either no file or a whole one.
//   Result<std::uint64_t> bytes = backup_state(*store, "/backups/paydist.mdb");
//   Status s = restore_into_empty_dir("/backups/paydist.mdb", "/var/lib/paydist");
#pragma once

#include <cstdint>
#include <filesystem>

#include "connectors/state_store.h"
#include "core/result.h"

namespace paydist {

// Writes `store`'s compacted copy to `to` (mode 0600) through a temporary file in the same
// directory, fsynced and renamed over `to`, then syncs that directory. Safe while another
// process writes the state. Returns the bytes written.
Result<std::uint64_t> backup_state(StateStore& store, const std::filesystem::path& to);

// Puts a backup back as `dir`/data.mdb (mode 0600, fsynced, renamed into place). `dir` must be
// empty or absent (it is created, mode 0700): a restore never mixes with another state. A
// state directory holds nothing else that must be kept: lock.mdb and writer.lock are made
// when the state opens, and paydistd writes embedded-brokers at start.
Status restore_into_empty_dir(const std::filesystem::path& from, const std::filesystem::path& dir);

// Removes what restore_into_empty_dir() and opening the state put into `dir` (data.mdb,
// lock.mdb, writer.lock), for a restore that failed its checks: `dir` is left empty.
void discard_restored_state(const std::filesystem::path& dir);

}  // namespace paydist
