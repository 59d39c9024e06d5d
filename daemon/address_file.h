// daemon/address_file.h: writes a broker's bootstrap address for other processes to read
// (`paydist broker --brokers-file`, paydistd's STATE/embedded-brokers). Through a temporary
// file and a rename, so that a reader never sees half an address.
//   if (!write_address_file(dir / "embedded-brokers", bootstrap)) ...
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace paydist {

inline bool write_address_file(const std::filesystem::path& path, const std::string& address) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << address << '\n';
    if (!out.flush()) return false;
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  return !ec;
}

}  // namespace paydist
