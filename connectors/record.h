// connectors/record.h: the binary records the state store keeps (accounts, timelines, file
// positions, pending outputs). Versioned, compact, and decoded with every byte bounds-checked:
// corrupt or truncated input is an Error, never an out-of-bounds read. No LMDB in here.
//   std::string bytes = encode_account(account);
//   Result<Account> back = decode_account(bytes);   // Error on truncated/corrupt/newer input
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "connectors/state_store.h"
#include "core/account.h"
#include "core/processor.h"
#include "core/result.h"

namespace paydist {

// Layout of every record: [version byte][kind byte][fields...], nothing after the fields.
// Integers and lengths are LEB128 varints, signed values (money, date serials) zig-zag
// varints, strings a varint length then the bytes, booleans one byte 0/1.
// Version 2 added the account's timeline (version 1 accounts read as timeline 0).
inline constexpr std::uint8_t kRecordVersion = 2;

// The encode_* functions overwrite `out` (so a caller can reuse one buffer per batch).
void encode_account(const Account& account, std::string& out);
void encode_timeline(const TimelineState& timeline, std::string& out);
void encode_file_position(const FilePosition& position, std::string& out);
void encode_pending_output(const PendingOutput& output, std::string& out);

// Appends one pending output record (the bytes encode_pending_output writes) to `out` and
// says where its key and json sit in `out`: a batch keeps its outbox encoded, back to back.
struct AppendedOutput {
  std::size_t key_begin = 0;
  std::size_t json_begin = 0;
};
AppendedOutput append_pending_output(std::uint64_t seq, OutputTopic topic, std::string_view key,
                                     std::string_view json, TimelineId timeline, std::uint64_t partition_seq,
                                     std::string& out);

std::string encode_account(const Account& account);
std::string encode_timeline(const TimelineState& timeline);
std::string encode_file_position(const FilePosition& position);
std::string encode_pending_output(const PendingOutput& output);

Result<Account> decode_account(std::string_view bytes);
Result<TimelineState> decode_timeline(std::string_view bytes);
Result<FilePosition> decode_file_position(std::string_view bytes);
Result<PendingOutput> decode_pending_output(std::string_view bytes);

}  // namespace paydist
