// tests/support/small_tmpfs.h: a directory on a small tmpfs of its own, to fill the file
// system under a state (the full-disk tests). Needs mount(2): root or CAP_SYS_ADMIN, as in
// this project's CI containers; a test skips when mounted() is false.
//   SmallTmpfs tmpfs(dir, "24m");
//   if (!tmpfs.mounted()) GTEST_SKIP() << tmpfs.error();
//   SmallTmpfs::fill(dir / "filler");  // the file system is full now
#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>

namespace paydist::testing {

// Mounted at construction, unmounted (lazily: a process may still hold its files) at scope end.
class SmallTmpfs {
 public:
  SmallTmpfs(const std::filesystem::path& dir, const std::string& size) : dir_(dir) {
    std::filesystem::create_directories(dir);
    const std::string options = "size=" + size + ",mode=0700";
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) == 0)
      mounted_ = true;
    else
      error_ = std::strerror(errno);
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

  // Writes `file` until the file system is full; its size.
  static std::uintmax_t fill(const std::filesystem::path& file) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return 0;
    const std::string chunk(64 * 1024, 'x');
    std::uintmax_t written = 0;
    for (ssize_t n; (n = ::write(fd, chunk.data(), chunk.size())) > 0;) written += static_cast<std::uintmax_t>(n);
    ::close(fd);
    return written;
  }

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
  std::string error_;
};

}  // namespace paydist::testing
