// connectors/history_codec.h: how one `paydist explain` entry (core/history.h) is stored.
// The entries are short texts made of the same few phrases, and they are most of what the
// state writes: compressed with zstd against a fixed dictionary of those phrases they take
// about a third of the bytes, so a commit rewrites fewer LMDB pages.
//   HistoryCodec codec;
//   std::string stored;
//   codec.compress(text, stored);                     // at append
//   Result<std::string> back = codec.decompress(stored);  // at explain
// One instance per thread (it owns zstd contexts).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace paydist {

class HistoryCodec {
 public:
  HistoryCodec();
  ~HistoryCodec();
  HistoryCodec(const HistoryCodec&) = delete;
  HistoryCodec& operator=(const HistoryCodec&) = delete;

  // Replaces `out` with the stored form of `text`: a format byte, then the bytes.
  void compress(std::string_view text, std::string& out);
  // The text back, or an Error saying why the stored bytes are not an entry.
  Result<std::string> decompress(std::string_view stored);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace paydist
