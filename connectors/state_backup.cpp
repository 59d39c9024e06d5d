// connectors/state_backup.cpp: backup and restore files (see state_backup.h). Every file is
// written under a temporary name in its final directory, fsynced, renamed, and the directory
// fsynced: after a crash the target is either absent or whole, never half written.
#include "connectors/state_backup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

namespace paydist {
namespace {

namespace fs = std::filesystem;

constexpr mode_t kStateFileMode = 0600;
constexpr std::size_t kCopyChunkBytes = std::size_t{1} << 20;
constexpr const char* kDataFile = "data.mdb";

std::string errno_text() { return std::strerror(errno); }

// Closes a descriptor with its scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // close() reports what a late write-back failed on.
  bool close() { return ::close(std::exchange(fd_, -1)) == 0; }

 private:
  int fd_;
};

// Unlinks a temporary file unless it was renamed into place.
class TemporaryFile {
 public:
  explicit TemporaryFile(fs::path path) : path_(std::move(path)) {}
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  ~TemporaryFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  const fs::path& path() const { return path_; }
  Status rename_to(const fs::path& target) {
    if (::rename(path_.c_str(), target.c_str()) != 0)
      return Error{fmt::format("cannot rename {} to {}: {}", path_.string(), target.string(), errno_text())};
    path_.clear();
    return Ok{};
  }

 private:
  fs::path path_;
};

fs::path directory_of(const fs::path& file) {
  const fs::path parent = file.parent_path();
  return parent.empty() ? fs::path{"."} : parent;
}

// A rename is durable once its directory is synced.
Status sync_directory(const fs::path& dir) {
  Fd fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (fd.get() < 0) return Error{fmt::format("cannot open directory {}: {}", dir.string(), errno_text())};
  if (::fsync(fd.get()) != 0) return Error{fmt::format("cannot sync directory {}: {}", dir.string(), errno_text())};
  return Ok{};
}

// Syncs, closes and renames a finished temporary file into place, then syncs its directory.
Status finish(Fd& fd, TemporaryFile& temporary, const fs::path& target) {
  if (::fsync(fd.get()) != 0) return Error{fmt::format("cannot sync {}: {}", temporary.path().string(), errno_text())};
  if (!fd.close()) return Error{fmt::format("cannot close {}: {}", temporary.path().string(), errno_text())};
  if (Status s = temporary.rename_to(target); !s) return s;
  return sync_directory(directory_of(target));
}

Status write_all(int fd, const char* data, std::size_t size, const fs::path& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{fmt::format("cannot write {}: {}", path.string(), errno_text())};
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return Ok{};
}

Result<std::uint64_t> copy_file(int from, int to, const fs::path& from_path, const fs::path& to_path) {
  std::vector<char> buffer(kCopyChunkBytes);
  std::uint64_t copied = 0;
  for (;;) {
    const ssize_t n = ::read(from, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{fmt::format("cannot read {}: {}", from_path.string(), errno_text())};
    if (n == 0) return copied;
    if (Status s = write_all(to, buffer.data(), static_cast<std::size_t>(n), to_path); !s) return Error{s.error()};
    copied += static_cast<std::uint64_t>(n);
  }
}

// Creates `dir` (0700) or checks that it is an empty directory.
Status prepare_empty_dir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    if (!fs::create_directories(dir, ec) && ec)
      return Error{fmt::format("cannot create {}: {}", dir.string(), ec.message())};
    fs::permissions(dir, fs::perms::owner_all, ec);
    if (ec) return Error{fmt::format("cannot set the mode of {}: {}", dir.string(), ec.message())};
    return Ok{};
  }
  if (!fs::is_directory(dir, ec)) return Error{fmt::format("{} is not a directory", dir.string())};
  if (!fs::is_empty(dir, ec) || ec)
    return Error{fmt::format("{} is not empty: restore needs an empty or new directory (it never overwrites a state)",
                             dir.string())};
  return Ok{};
}

}  // namespace

Result<std::uint64_t> backup_state(StateStore& store, const fs::path& to) {
  std::error_code ec;
  if (fs::is_directory(to, ec)) return Error{fmt::format("{} is a directory; --to names the backup file", to.string())};
  std::string pattern = (directory_of(to) / ("." + to.filename().string() + ".partial-XXXXXX")).string();
  Fd fd{::mkostemp(pattern.data(), O_CLOEXEC)};
  if (fd.get() < 0) return Error{fmt::format("cannot create a temporary file beside {}: {}", to.string(), errno_text())};
  TemporaryFile temporary{pattern};
  if (::fchmod(fd.get(), kStateFileMode) != 0) return Error{fmt::format("cannot set the mode of {}: {}", pattern, errno_text())};
  if (Status s = store.write_compacted_copy(fd.get()); !s) return Error{s.error()};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error{fmt::format("cannot stat {}: {}", pattern, errno_text())};
  if (Status s = finish(fd, temporary, to); !s) return Error{s.error()};
  return static_cast<std::uint64_t>(st.st_size);
}

Status restore_into_empty_dir(const fs::path& from, const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(from, ec)) return Error{fmt::format("{} is not a backup file", from.string())};
  Fd source{::open(from.c_str(), O_RDONLY | O_CLOEXEC)};
  if (source.get() < 0) return Error{fmt::format("cannot open {}: {}", from.string(), errno_text())};
  if (Status s = prepare_empty_dir(dir); !s) return s;
  const fs::path target = dir / kDataFile;
  const fs::path partial = dir / (std::string{kDataFile} + ".partial");
  Fd fd{::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kStateFileMode)};
  if (fd.get() < 0) return Error{fmt::format("cannot create {}: {}", partial.string(), errno_text())};
  TemporaryFile temporary{partial};
  if (::fchmod(fd.get(), kStateFileMode) != 0)  // whatever the umask
    return Error{fmt::format("cannot set the mode of {}: {}", partial.string(), errno_text())};
  if (Result<std::uint64_t> copied = copy_file(source.get(), fd.get(), from, partial); !copied) return Error{copied.error()};
  return finish(fd, temporary, target);
}

void discard_restored_state(const fs::path& dir) {
  for (const char* name : {kDataFile, "lock.mdb", "writer.lock", "data.mdb.partial"}) {
    std::error_code ignored;
    fs::remove(dir / name, ignored);
  }
}

}  // namespace paydist
