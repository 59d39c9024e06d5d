// connectors/file_replay.cpp: the file connector behind `paydist replay` (contract 5, and
// contract 6 "Outputs and files"). Reads files line by line, hands each line to the codec and
// the Processor, batches the results into LMDB transactions with the file position, and
// moves the outbox to the output files. Decides no business rule. Reading and decoding run
// one thread ahead of the rest (ReadAhead below); the order and every decision stay as if
// the apply loop read each line itself.
//
// Crash safety. Every batch goes through the same four steps:
//   1. one LMDB write transaction holds the batch's state, its file position and its
//      outputs (the outbox), committed synced: all or nothing;
//   2. the outbox is appended to OUT/*.jsonl;
//   3. the output files are fsynced;
//   4. the acknowledgement deletes the outbox entries and records each output file's new
//      length (its "mark"). It rides in the next batch's transaction (one synced commit
//      fewer per batch); after a file's last batch, and when open() recovers, it is a
//      synced transaction of its own (StateStore::acknowledge_outbox).
// A crash before 1 loses nothing: the lines are read again from the stored position. A
// crash after 1 and before 4 leaves a non-empty outbox, and the files hold their marked
// length plus some prefix of that outbox (or all of it). open() then truncates every file
// back to its mark and writes the whole outbox again, so each output line ends up in its
// file exactly once. For the marks to be exact, a file's mark is recorded before we ever
// write to it: open() records the current length of every output file that has no mark
// (a new file, or a new --out directory) before it writes anything. When open() finds the
// outbox empty, the files hold nothing unacknowledged, so their current lengths become the
// marks (an operator may have rotated or truncated them between runs).
#include "connectors/file_replay.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "connectors/codec.h"
#include "connectors/message_apply.h"
#include "core/invariant.h"

namespace paydist {
namespace {

using Clock = std::chrono::steady_clock;

// Reading the clock costs little, but not nothing: the batch's age is checked every few lines.
constexpr std::uint64_t kLinesPerClockCheck = 64;
constexpr std::uint64_t kLinesPerProgress = 8192;

std::string errno_text(int error) { return std::generic_category().message(error); }

// An owned file descriptor, closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

using Sha256Digest = std::array<std::uint8_t, 32>;

// SHA-256 over the bytes of a file consumed so far (OpenSSL EVP).
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    PAYDIST_INVARIANT(ctx_ != nullptr);
    reset();
  }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void reset() { PAYDIST_INVARIANT(EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1); }
  void update(const char* data, std::size_t size) {
    if (size > 0) PAYDIST_INVARIANT(EVP_DigestUpdate(ctx_, data, size) == 1);
  }
  // The digest of everything so far; the running hash goes on unchanged.
  Sha256Digest digest() const {
    EVP_MD_CTX* copy = EVP_MD_CTX_new();
    PAYDIST_INVARIANT(copy != nullptr);
    PAYDIST_INVARIANT(EVP_MD_CTX_copy_ex(copy, ctx_) == 1);
    Sha256Digest out{};
    unsigned int size = 0;
    PAYDIST_INVARIANT(EVP_DigestFinal_ex(copy, out.data(), &size) == 1);
    PAYDIST_INVARIANT(size == out.size());
    EVP_MD_CTX_free(copy);
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

Result<std::size_t> read_some(int fd, char* data, std::size_t size, const std::string& path) {
  for (;;) {
    const ssize_t n = ::read(fd, data, size);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return Error{fmt::format("{}: read failed: {}", path, errno_text(errno))};
  }
}

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error{fmt::format("{}: write failed: {}", path, errno_text(errno))};
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return Ok{};
}

Status sync_fd(int fd, const std::string& path) {
  if (::fsync(fd) != 0) return Error{fmt::format("{}: fsync failed: {}", path, errno_text(errno))};
  return Ok{};
}

Result<std::string> real_path_of(const std::string& path) {
  char* resolved = ::realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return Error{fmt::format("{}: {}", path, errno_text(errno))};
  std::string out{resolved};
  std::free(resolved);  // NOLINT: realpath's contract
  return out;
}

// contract 6: blank = empty, or only spaces, tabs and CR.
bool is_blank(std::string_view line) {
  for (char c : line)
    if (c != ' ' && c != '\t' && c != '\r') return false;
  return true;
}

// One physical line: its text without the '\n', cut at `text_bytes_max` bytes so that an
// oversized line never sits whole in memory (the codec rejects it by its size, contract 6).
struct Line {
  std::string_view text;
  std::uint64_t raw_bytes = 0;  // bytes consumed from the file, '\n' included
};

// Reads lines from a file descriptor through one fixed buffer. Every byte it consumes goes
// into `hash`, so the hash always covers exactly the lines returned so far.
class LineReader {
 public:
  LineReader(int fd, std::string path, std::size_t text_bytes_max, Sha256& hash)
      : fd_(fd), path_(std::move(path)), text_bytes_max_(text_bytes_max), hash_(hash), buffer_(kBufferBytes) {}

  // true with the next line, false at the end of the file.
  Result<bool> next(Line& line) {
    carry_.clear();
    line.raw_bytes = 0;
    bool carrying = false;
    for (;;) {
      if (begin_ == end_) {
        Result<std::size_t> n = read_some(fd_, buffer_.data(), buffer_.size(), path_);
        if (!n) return Error{n.error()};
        begin_ = 0;
        end_ = *n;
        if (end_ == 0) {  // end of file: a last line without '\n' is still a line
          line.text = carry_;
          return line.raw_bytes > 0;
        }
      }
      const char* start = buffer_.data() + begin_;
      const std::size_t available = end_ - begin_;
      const auto* newline = static_cast<const char*>(std::memchr(start, '\n', available));
      const std::size_t text_size = newline ? static_cast<std::size_t>(newline - start) : available;
      const std::size_t consumed = newline ? text_size + 1 : available;
      hash_.update(start, consumed);
      line.raw_bytes += consumed;
      begin_ += consumed;
      if (newline && !carrying) {
        line.text = std::string_view{start, std::min(text_size, text_bytes_max_)};
        return true;
      }
      carry_.append(start, std::min(text_size, text_bytes_max_ - std::min(carry_.size(), text_bytes_max_)));
      carrying = true;
      if (newline) {
        line.text = carry_;
        return true;
      }
    }
  }

 private:
  static constexpr std::size_t kBufferBytes = std::size_t{1} << 20;
  int fd_;
  std::string path_;
  std::size_t text_bytes_max_;
  Sha256& hash_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::string carry_;  // a line that spans buffer refills
};

// ---- reading ahead ----
//
// Reading, hashing and above all decoding a line need nothing of the state, so a thread of
// their own does them for the lines ahead of the one being applied, and hands them over in
// chunks through a short queue: memory stays flat whatever the file's size. The apply loop
// still decides everything else (positions, batches, rejects) line by line, as before.

// One line read ahead, as the apply loop needs it.
struct ReadLine {
  std::size_t text_begin = 0;  // into Chunk::text
  std::size_t text_size = 0;
  std::uint64_t raw_bytes = 0;  // as Line::raw_bytes
  bool blank = false;
  DecodedLine decoded;  // when not blank
  // The file's SHA-256 through this line (positioned files only): a batch may end after
  // any line, and by then the reader's running hash is further on.
  Sha256Digest sha256_after{};
};

struct Chunk {
  std::string text;  // the lines' texts, back to back
  std::vector<ReadLine> lines;
  bool last = false;             // nothing follows: the end of the file, or a failure below
  Status failure = Ok{};         // a read error after the lines: the apply loop's error
  std::exception_ptr exception;  // an exception thrown reading or decoding after the lines
  std::string_view text_of(const ReadLine& line) const { return {text.data() + line.text_begin, line.text_size}; }
};

// Runs a LineReader and the Decoder a few chunks ahead of next(), on a thread of its own.
// The destructor stops and joins the thread, also when the apply loop leaves early (an
// error, an exception), so the thread never outlives the reader, hash and decoder it uses;
// nobody else touches them meanwhile, and the two threads share nothing but the queue.
// Only a regular file is read ahead: the next line of a pipe or a device may be long in
// coming, so there next() reads one line itself, as the apply loop always did (no line
// waits for others, no thread is left blocked in read() when the loop stops early).
class ReadAhead {
 public:
  ReadAhead(LineReader& reader, const Sha256& hash, Decoder& decoder, bool regular_file)
      : reader_(reader), hash_(hash), decoder_(decoder), digests_(regular_file) {
    if (regular_file) thread_ = std::thread([this] { run(); });
  }
  ~ReadAhead() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock{mutex_};
      stopped_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The next chunk in file order; after the one marked `last` there is none.
  Chunk next() {
    Chunk chunk;
    if (!thread_.joinable()) {
      fill(chunk, 1);
      return chunk;
    }
    std::unique_lock lock{mutex_};
    changed_.wait(lock, [&] { return !ready_.empty(); });
    chunk = std::move(ready_.front());
    ready_.pop_front();
    changed_.notify_all();
    return chunk;
  }

 private:
  // ~2k lines a chunk, 4 waiting: a few MB at most, and few enough hand-overs that the
  // lock costs nothing.
  static constexpr std::size_t kChunkLines = 2048;
  static constexpr std::size_t kChunkTextBytes = std::size_t{1} << 20;
  static constexpr std::size_t kChunksAhead = 4;

  void run() {
    for (bool last = false; !last;) {
      Chunk chunk;
      try {
        fill(chunk, kChunkLines);
      } catch (...) {
        chunk.exception = std::current_exception();
        chunk.last = true;
      }
      last = chunk.last;
      std::unique_lock lock{mutex_};
      changed_.wait(lock, [&] { return stopped_ || ready_.size() < kChunksAhead; });
      if (stopped_) return;  // the apply loop is gone: nobody wants the rest
      ready_.push_back(std::move(chunk));
      changed_.notify_all();
    }
  }

  void fill(Chunk& chunk, std::size_t lines_max) {
    chunk.lines.reserve(lines_max);
    Line line;
    while (chunk.lines.size() < lines_max && chunk.text.size() < kChunkTextBytes) {
      Result<bool> more = reader_.next(line);
      if (!more || !*more) {
        if (!more) chunk.failure = Error{more.error()};
        chunk.last = true;
        return;
      }
      ReadLine& read = chunk.lines.emplace_back();
      read.text_begin = chunk.text.size();
      read.text_size = line.text.size();
      chunk.text.append(line.text);
      read.raw_bytes = line.raw_bytes;
      read.blank = is_blank(line.text);
      if (!read.blank) read.decoded = decoder_.decode(line.text);
      if (digests_) read.sha256_after = hash_.digest();
    }
  }

  LineReader& reader_;
  const Sha256& hash_;  // the one reader_ updates
  Decoder& decoder_;
  const bool digests_;
  std::mutex mutex_;
  std::condition_variable changed_;  // a chunk taken or added, or stopped_ set
  std::deque<Chunk> ready_;
  bool stopped_ = false;
  std::thread thread_;
};

struct OutputFile {
  OutputTopic topic;
  std::string path;       // as built from --out
  std::string real_path;  // the key of its mark in the store
  Fd fd;
  std::uint64_t length = 0;
  std::string pending;    // lines to append in this flush
  bool unsynced = false;  // written to since its last fsync
};

const char* file_name_of(OutputTopic topic) {
  switch (topic) {
    case OutputTopic::activities: return "activities.jsonl";
    case OutputTopic::distributions: return "distributions.jsonl";
    case OutputTopic::rejects: return "rejects.jsonl";
    case OutputTopic::state_changelog:
    case OutputTopic::state_changelog_deleted: break;  // the daemon's only (StoreOptions::changelog)
  }
  return "unknown.jsonl";
}

// One input file being read.
struct InputFile {
  std::string path;       // as given: the PATH of PATH:LINE
  std::string real_path;  // the key of its stored position
  bool positioned = false;  // a regular file: its position is stored
  std::uint64_t line_number = 0;
  std::uint64_t bytes_consumed = 0;
  Sha256Digest sha256{};    // of the first bytes_consumed bytes (positioned files)
};

}  // namespace

struct FileReplay::Impl {
  Impl(StateStore& store_in, const Rules& rules_in, ReplayOptions options_in)
      : store(store_in), rules(rules_in), options(std::move(options_in)), decoder(rules_in), applier(rules_in) {}

  StateStore& store;
  const Rules& rules;
  ReplayOptions options;
  Decoder decoder;  // the read-ahead thread's while a file replays
  std::vector<OutputFile> outputs;
  bool opened = false;

  std::unique_ptr<StateStore::Batch> batch;
  std::size_t batch_lines = 0;
  Clock::time_point batch_started;
  Clock::time_point run_started = Clock::now();
  ReplaySummary summary;
  MessageApplier applier;  // the apply thread's

  void notice(NoticeLevel level, std::string_view text) const {
    if (options.on_notice) options.on_notice(level, text);
  }
  void stage(ReplayStage s) const {
    if (options.on_stage_for_test) options.on_stage_for_test(s);
  }
  void progress() {
    summary.seconds = std::chrono::duration<double>(Clock::now() - run_started).count();
    if (options.on_progress) options.on_progress(summary);
  }

  // True while every outbox entry is in the files already (acknowledged, or awaiting the
  // acknowledgement below, which the next commit carries): after that commit the outbox
  // holds just the batch's own outputs, so they can be written from the batch's memory.
  bool outbox_drained = false;
  // Outputs written and fsynced through this seq, whose acknowledgement goes with the next
  // commit (or acknowledge_written() at the end of a file).
  std::optional<std::uint64_t> unacknowledged_through;

  // Background commits (StateStore::Batch::commit_in_background): the committer thread
  // commits batch N and writes its outputs (after_commit) while this thread applies batch
  // N+1. What after_commit leaves here is read only after store.wait_for_commits()
  // (finish_background), which orders it before.
  Status background_status = Ok{};
  std::exception_ptr background_exception;  // a test's simulated crash, carried over
  std::uint64_t background_outputs = 0;     // outputs written there since the last finish
  void after_commit(Status committed, const StateStore::Batch& done);
  Status finish_background();

  Status open_outputs();
  Status record_marks_and_recover();
  Status flush_outbox();
  Status flush_committed(const StateStore::Batch& committed);
  Status write_pending(std::size_t entries);
  Status acknowledge_written();
  // Whatever a failed write left in `pending` is in the outbox still: gather afresh.
  void discard_pending() {
    for (OutputFile& file : outputs) file.pending.clear();
  }
  std::vector<OutputFileMark> marks() const;

  Status replay(InputFile& file);
  Result<bool> position_reader(InputFile& file, int fd, Sha256& hash);
  Status handle_line(const InputFile& file, const ReadLine& line, std::string_view text);
  StateStore::Batch& current_batch();
  Status commit(const InputFile& file);
};

// ---- output files and the outbox ----

Status FileReplay::Impl::open_outputs() {
  std::error_code ec;
  std::filesystem::create_directories(options.out_dir, ec);
  if (ec) return Error{fmt::format("{}: cannot create: {}", options.out_dir.string(), ec.message())};
  for (OutputTopic topic : {OutputTopic::activities, OutputTopic::distributions, OutputTopic::rejects}) {
    OutputFile file{topic, (options.out_dir / file_name_of(topic)).string(), {}, Fd{}, 0, {}};
    file.fd = Fd{::open(file.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)};
    if (!file.fd.valid()) return Error{fmt::format("{}: cannot open: {}", file.path, errno_text(errno))};
    struct stat st {};
    if (::fstat(file.fd.get(), &st) != 0)
      return Error{fmt::format("{}: cannot stat: {}", file.path, errno_text(errno))};
    if (!S_ISREG(st.st_mode)) return Error{fmt::format("{}: not a regular file", file.path)};
    file.length = static_cast<std::uint64_t>(st.st_size);
    Result<std::string> real = real_path_of(file.path);
    if (!real) return Error{real.error()};
    file.real_path = std::move(*real);
    outputs.push_back(std::move(file));
  }
  // The files' directory entries must be durable before a mark points at them.
  Fd dir{::open(options.out_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!dir.valid()) return Error{fmt::format("{}: cannot open: {}", options.out_dir.string(), errno_text(errno))};
  return sync_fd(dir.get(), options.out_dir.string());
}

std::vector<OutputFileMark> FileReplay::Impl::marks() const {
  std::vector<OutputFileMark> out;
  out.reserve(outputs.size());
  for (const OutputFile& file : outputs) out.push_back({file.real_path, file.length});
  return out;
}

// See the comment at the top of the file.
Status FileReplay::Impl::record_marks_and_recover() {
  const std::vector<PendingOutput> first = store.read_outbox(1);
  const bool pending = !first.empty();
  for (OutputFile& file : outputs) {
    const std::optional<std::uint64_t> mark = store.read_output_file_length(file.real_path);
    if (!pending || !mark) continue;  // nothing of ours unacknowledged in it: keep its length
    if (file.length < *mark) {
      notice(NoticeLevel::warning,
             fmt::format("replay: {} is shorter ({} bytes) than recorded ({} bytes); it was changed outside "
                         "paydist, appending the unacknowledged output to it as it is",
                         file.path, file.length, *mark));
      continue;
    }
    if (file.length > *mark)
      notice(NoticeLevel::warning,
             fmt::format("replay: {}: dropping {} bytes of output written before a crash; writing it again",
                         file.path, file.length - *mark));
    if (::ftruncate(file.fd.get(), static_cast<off_t>(*mark)) != 0)
      return Error{fmt::format("{}: truncate failed: {}", file.path, errno_text(errno))};
    if (Status s = sync_fd(file.fd.get(), file.path); !s) return s;
    file.length = *mark;
  }
  // Record the marks before writing anything. Outbox seqs start at 1, so acknowledging
  // through first-1 deletes nothing.
  std::uint64_t through_seq = 0;
  if (pending) {
    PAYDIST_INVARIANT(first.front().seq > 0);
    through_seq = first.front().seq - 1;
  }
  if (Status s = store.acknowledge_outbox(through_seq, marks()); !s) return s;
  if (pending) notice(NoticeLevel::warning, "replay: writing the output of a batch committed before a crash");
  return flush_outbox();
}

// Steps 2 and 3 for the lines gathered in each file's `pending`: append, fsync (the files
// that were written to: the rejects file mostly is not).
Status FileReplay::Impl::write_pending(std::size_t entries) {
  for (OutputFile& file : outputs) {
    if (file.pending.empty()) continue;
    file.unsynced = true;
    if (Status s = write_all(file.fd.get(), file.pending, file.path); !s) return s;
    file.length += file.pending.size();
    file.pending.clear();
  }
  stage(ReplayStage::outputs_written);
  for (OutputFile& file : outputs) {
    if (!file.unsynced) continue;
    if (Status s = sync_fd(file.fd.get(), file.path); !s) return s;
    file.unsynced = false;
  }
  stage(ReplayStage::outputs_synced);
  background_outputs += entries;  // this thread or the committer: finish_background() adds it up
  return Ok{};
}

// Step 4 on its own, for outputs whose acknowledgement has no next commit to ride in.
Status FileReplay::Impl::acknowledge_written() {
  if (!unacknowledged_through) return Ok{};
  if (Status s = store.acknowledge_outbox(*unacknowledged_through, marks()); !s) return s;
  unacknowledged_through.reset();
  return Ok{};
}

// Moves the whole outbox to the files, reading it back from the store.
Status FileReplay::Impl::flush_outbox() {
  outbox_drained = false;
  for (;;) {
    const std::vector<PendingOutput> entries = store.read_outbox(options.flush_entries_max);
    if (entries.empty()) break;
    discard_pending();
    for (const PendingOutput& entry : entries) {
      std::string& out = outputs.at(static_cast<std::size_t>(entry.topic)).pending;
      out += entry.json;
      out += '\n';
    }
    if (Status s = write_pending(entries.size()); !s) return s;
    // The next read_outbox() starts after what this acknowledges: no waiting for a commit.
    if (Status s = store.acknowledge_outbox(entries.back().seq, marks()); !s) return s;
    unacknowledged_through.reset();
    if (entries.size() < options.flush_entries_max) break;
  }
  outbox_drained = true;
  return Ok{};
}

// The same for a batch just committed onto a drained outbox: its outputs are the whole
// outbox, and they are still in the batch's memory, so nothing is read back. Runs on the
// committer thread, where reading the outbox back (flush_outbox) could not: a failed write
// stops the replay before another batch is handed over, so the outbox is drained here.
Status FileReplay::Impl::flush_committed(const StateStore::Batch& committed) {
  PAYDIST_INVARIANT(outbox_drained);
  std::uint64_t through_seq = 0;
  std::size_t entries = 0;
  discard_pending();
  committed.for_each_output([&](const QueuedOutput& output) {
    PAYDIST_INVARIANT(static_cast<std::size_t>(output.topic) < outputs.size());  // replay logs no changelog
    std::string& out = outputs[static_cast<std::size_t>(output.topic)].pending;
    out += output.json;
    out += '\n';
    through_seq = output.seq;
    ++entries;
  });
  if (entries == 0) return Ok{};
  outbox_drained = false;
  if (Status s = write_pending(entries); !s) return s;
  unacknowledged_through = through_seq;
  outbox_drained = true;
  return Ok{};
}

// ---- input files ----

// Positions the reader after the lines an earlier run consumed, when the file still starts
// with exactly those bytes (contract 6: the same file is skipped, a grown file goes on where
// it stopped, a different or rewritten file is read from line 1). Returns false when the
// file holds nothing new.
Result<bool> FileReplay::Impl::position_reader(InputFile& file, int fd, Sha256& hash) {
  const std::optional<FilePosition> stored = store.read_file_position(file.real_path);
  if (!stored || stored->bytes_consumed == 0) return true;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Error{fmt::format("{}: cannot stat: {}", file.path, errno_text(errno))};
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size < stored->bytes_consumed) {
    notice(NoticeLevel::warning,
           fmt::format("replay: {} is shorter than what was consumed from it; reading it from line 1", file.path));
    return true;
  }
  // Hash the first bytes_consumed bytes again; the hash then goes on from there.
  std::vector<char> buffer(std::size_t{1} << 20);
  std::uint64_t left = stored->bytes_consumed;
  char last = '\n';
  while (left > 0) {
    Result<std::size_t> n = read_some(fd, buffer.data(), std::min<std::uint64_t>(left, buffer.size()), file.path);
    if (!n) return Error{n.error()};
    if (*n == 0) return Error{fmt::format("{}: file shrank while being read", file.path)};
    hash.update(buffer.data(), *n);
    last = buffer[*n - 1];
    left -= *n;
  }
  bool same_prefix = hash.digest() == stored->sha256;
  std::uint64_t bytes = stored->bytes_consumed;
  if (same_prefix && last != '\n' && size > bytes) {
    // The last consumed line had no '\n'. If the next byte ends it, that line was whole;
    // otherwise it was extended since, and the file counts as rewritten.
    char next = 0;
    Result<std::size_t> n = read_some(fd, &next, 1, file.path);
    if (!n) return Error{n.error()};
    same_prefix = *n == 1 && next == '\n';
    if (same_prefix) {
      hash.update(&next, 1);
      ++bytes;
    }
  }
  if (!same_prefix) {
    notice(NoticeLevel::warning,
           fmt::format("replay: {} is not the file replayed before from this path; reading it from line 1", file.path));
    hash.reset();
    if (::lseek(fd, 0, SEEK_SET) != 0) return Error{fmt::format("{}: seek failed: {}", file.path, errno_text(errno))};
    return true;
  }
  file.line_number = stored->lines_consumed;
  file.bytes_consumed = bytes;
  summary.lines_already_consumed += stored->lines_consumed;
  notice(NoticeLevel::info, fmt::format("replay: {}: skipping its first {} lines, consumed by an earlier run",
                                        file.path, stored->lines_consumed));
  return size > bytes || bytes != stored->bytes_consumed;
}

StateStore::Batch& FileReplay::Impl::current_batch() {
  if (!batch) {
    batch = store.begin(TimelineId{0});
    batch_lines = 0;
    batch_started = Clock::now();
  }
  return *batch;
}

Status FileReplay::Impl::commit(const InputFile& file) {
  if (!batch) return Ok{};
  if (file.positioned)
    batch->set_file_position(FilePosition{file.real_path, file.line_number, file.bytes_consumed, file.sha256});
  // The batch before this one is committed and its outputs written (steps 1-3), so their
  // acknowledgement (step 4) rides in this one, as it always did; only now the commit and
  // the writing of batch N overlap the applying of batch N+1. (Waiting for batch N ends this
  // batch's read transaction first: StateStore::wait_for_commits.)
  if (Status s = finish_background(); !s) {
    batch.reset();
    return s;
  }
  if (unacknowledged_through) batch->acknowledge_outbox(*unacknowledged_through, marks());
  unacknowledged_through.reset();
  StateStore::Batch::commit_in_background(
      std::move(batch), Durability::synced,
      [this](Status committed, StateStore::Batch& done) { after_commit(std::move(committed), done); });
  progress();
  return Ok{};
}

// On the committer thread: steps 2 and 3 for the batch just committed (step 1).
void FileReplay::Impl::after_commit(Status committed, const StateStore::Batch& done) {
  try {
    if (!committed) {
      background_status = Error{fmt::format("state: commit failed: {}", committed.error())};
      return;
    }
    stage(ReplayStage::batch_committed);
    if (Status flushed = flush_committed(done); !flushed) background_status = flushed;
  } catch (...) {
    background_exception = std::current_exception();
  }
}

Status FileReplay::Impl::finish_background() {
  Status waited = store.wait_for_commits();
  summary.outputs_written += std::exchange(background_outputs, 0);
  if (background_exception) std::rethrow_exception(std::exchange(background_exception, nullptr));
  if (!background_status) return std::exchange(background_status, Ok{});
  if (!waited) return Error{fmt::format("state: commit failed: {}", waited.error())};
  return Ok{};
}

// contract 6, input handling (connectors/message_apply.h), with this run's counts.
Status FileReplay::Impl::handle_line(const InputFile& file, const ReadLine& line, std::string_view text) {
  ++summary.lines;
  if (line.blank) {
    ++summary.blank;
    return Ok{};
  }
  ++batch_lines;
  const MessageSource source{file.path, ':', file.line_number};
  switch (applier.apply(current_batch(), line.decoded, text, source)) {
    case MessageOutcome::accepted:
      ++summary.accepted;
      break;
    case MessageOutcome::rejected:
      ++summary.rejected;
      break;
    case MessageOutcome::duplicate:
      ++summary.duplicates;
      break;
  }
  return Ok{};
}

Status FileReplay::Impl::replay(InputFile& file) {
  Fd fd{::open(file.path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd.valid()) return Error{fmt::format("{}: cannot open: {}", file.path, errno_text(errno))};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error{fmt::format("{}: cannot stat: {}", file.path, errno_text(errno))};
  if (S_ISDIR(st.st_mode)) return Error{fmt::format("{}: is a directory", file.path)};
  // A pipe or a device has no stable bytes to come back to: read whole, no position kept.
  file.positioned = S_ISREG(st.st_mode);
  Sha256 hash;
  if (file.positioned) {
    Result<std::string> real = real_path_of(file.path);
    if (!real) return Error{real.error()};
    file.real_path = std::move(*real);
    Result<bool> has_new = position_reader(file, fd.get(), hash);
    if (!has_new) return Error{has_new.error()};
    if (!*has_new) return Ok{};
    file.sha256 = hash.digest();
  }
  // One byte over the limit is enough for the codec to reject the line by its size.
  const std::size_t text_bytes_max = rules.max_message_bytes < SIZE_MAX ? rules.max_message_bytes + 1 : SIZE_MAX;
  LineReader reader{fd.get(), file.path, text_bytes_max, hash};
  ReadAhead ahead{reader, hash, decoder, file.positioned};  // uses reader and hash from here on
  std::uint64_t lines_since_check = 0;
  std::uint64_t lines_since_progress = 0;
  for (bool last = false; !last;) {
    const Chunk chunk = ahead.next();
    for (const ReadLine& line : chunk.lines) {
      ++file.line_number;
      file.bytes_consumed += line.raw_bytes;
      file.sha256 = line.sha256_after;
      if (Status s = handle_line(file, line, chunk.text_of(line)); !s) return s;
      ++lines_since_progress;
      if (++lines_since_check < kLinesPerClockCheck && batch_lines < options.batch_lines_max) continue;
      lines_since_check = 0;
      const bool batch_full =
          batch_lines >= options.batch_lines_max || (batch && batch->estimated_dirty_pages() >= options.batch_pages_max);
      const bool batch_old =
          batch && Clock::now() - batch_started >= std::chrono::milliseconds{options.batch_interval_ms};
      if (batch_full || batch_old) {
        if (Status s = commit(file); !s) return s;
        lines_since_progress = 0;
      } else if (lines_since_progress >= kLinesPerProgress) {
        progress();
        lines_since_progress = 0;
      }
    }
    // A failure reading (or decoding) the line after these ends the file as it would have.
    if (chunk.exception) std::rethrow_exception(chunk.exception);
    if (!chunk.failure) return chunk.failure;
    last = chunk.last;
  }
  // The file's last lines (blank ones too) move its position: commit even an empty batch.
  if (file.positioned) current_batch();
  if (Status s = commit(file); !s) return s;
  if (Status s = finish_background(); !s) return s;
  return acknowledge_written();
}

// ---- FileReplay ----

FileReplay::FileReplay(StateStore& store, const Rules& rules, ReplayOptions options)
    : impl_(std::make_unique<Impl>(store, rules, std::move(options))) {
  PAYDIST_INVARIANT(impl_->options.batch_lines_max > 0 && impl_->options.batch_pages_max > 0);
  PAYDIST_INVARIANT(impl_->options.flush_entries_max > 0);
}

FileReplay::~FileReplay() = default;

Status FileReplay::open() {
  PAYDIST_INVARIANT(!impl_->opened);
  if (Status s = impl_->open_outputs(); !s) return s;
  if (Status s = impl_->record_marks_and_recover(); !s) return s;
  impl_->opened = true;
  return Ok{};
}

Status FileReplay::replay_file(const std::string& path) {
  PAYDIST_INVARIANT(impl_->opened);
  InputFile file;
  file.path = path;
  ++impl_->summary.files;
  // However replay() ends (an error, an exception), no commit of ours is left running.
  struct Finish {
    Impl& impl;
    ~Finish() {
      impl.batch.reset();  // its read transaction would keep a map growth waiting
      (void)impl.store.wait_for_commits();
    }
  } finish{*impl_};
  Status s = impl_->replay(file);
  impl_->batch.reset();  // on an error, whatever the batch held is dropped, never half-stored
  if (Status background = impl_->finish_background(); s && !background) s = background;
  impl_->progress();
  return s;
}

const ReplaySummary& FileReplay::summary() const { return impl_->summary; }

}  // namespace paydist
