// tests/support/daemon_client.h: what integration tests ask a running paydistd and the
// broker: its HTTP endpoints (also raw requests, for the server's limits), a metric's value, an output topic's messages with their
// paydist-seq / paydist-state headers, and a bounded wait for a condition.
//   auto [status, body] = http_get(port, "/readyz");
//   ASSERT_TRUE(eventually(60s, [&] { return metric(http_get(port, "/metrics").second, "paydist_outbox_depth") == 0; }));
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "connectors/kafka.h"
#include "tests/support/process.h"

namespace paydist::testing {

// A connection to 127.0.0.1 (or `host`) on `port`, with 5 s receive and send timeouts; -1
// when nothing accepts it.
inline int connect_to(int port, const char* host = "127.0.0.1") {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, host, &address.sin_addr);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Everything the peer sends until it closes (or 5 s of silence).
inline std::string receive_all(int fd) {
  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) response.append(buffer, static_cast<std::size_t>(n));
  return response;
}

struct HttpResponse {
  int status = 0;    // 0: no answer
  std::string head;  // status line and header fields
  std::string body;
};

inline HttpResponse parse_response(const std::string& response) {
  if (response.size() < 12 || response.rfind("HTTP/1.", 0) != 0) return {};
  const std::size_t body = response.find("\r\n\r\n");
  return {std::stoi(response.substr(9, 3)), response.substr(0, body),
          body == std::string::npos ? "" : response.substr(body + 4)};
}

// Sends `request` as it is to 127.0.0.1:port and reads the answer to its end.
inline HttpResponse http_exchange(int port, const std::string& request) {
  const int fd = connect_to(port);
  if (fd < 0) return {};
  std::string response;
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) >= 0) response = receive_all(fd);
  ::close(fd);
  return parse_response(response);
}

// GET http://127.0.0.1:port/path: {status, body}; status 0 when nothing answered.
inline std::pair<int, std::string> http_get(int port, const std::string& path) {
  const HttpResponse r =
      http_exchange(port, fmt::format("GET {} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", path));
  return {r.status, r.body};
}

// The HTTP port paydistd's log announces ("... on port N"), or 0 before it does.
inline int http_port_in_log(const std::string& log) {
  const std::size_t at = log.find("on port ");
  if (at == std::string::npos || at + 8 >= log.size() || !std::isdigit(static_cast<unsigned char>(log[at + 8]))) return 0;
  return std::stoi(log.substr(at + 8));
}

// The sum of a metric's samples (all label sets), or -1 when it has none.
inline double metric(const std::string& text, const std::string& name) {
  double sum = -1;
  for (const std::string& line : split_lines(text)) {
    if (line.rfind(name, 0) != 0) continue;
    const char next = line[name.size()];
    if (next != ' ' && next != '{') continue;
    sum = (sum < 0 ? 0 : sum) + std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

// The values of a per-partition gauge (`name{topic="T",partition="P"} V`), by (T, P).
inline std::map<std::pair<std::string, std::int32_t>, std::int64_t> partition_values(const std::string& text,
                                                                                    const std::string& name) {
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> out;
  const std::string prefix = name + "{topic=\"";
  for (const std::string& line : split_lines(text)) {
    if (line.rfind(prefix, 0) != 0) continue;
    const std::size_t topic_end = line.find('"', prefix.size());
    const std::size_t partition_at = line.find("partition=\"", topic_end);
    const std::size_t space = line.rfind(' ');
    if (topic_end == std::string::npos || partition_at == std::string::npos || space == std::string::npos) continue;
    out[{line.substr(prefix.size(), topic_end - prefix.size()),
         static_cast<std::int32_t>(std::stol(line.substr(partition_at + 11)))}] = std::stoll(line.substr(space + 1));
  }
  return out;
}

// High watermarks of partitions as the broker gives them now, through one reader kept
// while the bootstrap address stays the same.
class EndOffsets {
 public:
  std::optional<std::int64_t> of(const std::string& bootstrap, const std::string& topic, std::int32_t partition) {
    if (!reader_ || bootstrap_ != bootstrap) {
      reader_.reset();
      auto reader = kafka::Reader::create({.brokers = bootstrap});
      if (!reader) return std::nullopt;
      reader_ = std::move(*reader);
      bootstrap_ = bootstrap;
    }
    auto w = reader_->watermarks({topic, partition}, std::chrono::seconds{2});
    return w ? std::optional<std::int64_t>{w->high} : std::nullopt;  // nullopt while the broker is away
  }
  void reset() { reader_.reset(); }

 private:
  std::unique_ptr<kafka::Reader> reader_;
  std::string bootstrap_;
};

// Every input partition the daemon's /metrics text lists (its paydist_consumer_lag lines)
// applied up to its end as the broker says now (paydist_consumer_position; no position is
// 0). The lag gauge alone is not enough: it is against the high watermark of the daemon's
// last fetch, which does not move while its consumer is still reconnecting to a broker that
// was away, or until its next fetch after a feed.
inline bool applied_to_end(const std::string& metrics_text, const std::string& bootstrap, EndOffsets& ends) {
  const auto positions = partition_values(metrics_text, "paydist_consumer_position");
  for (const auto& [tp, lag] : partition_values(metrics_text, "paydist_consumer_lag")) {
    const std::optional<std::int64_t> end = ends.of(bootstrap, tp.first, tp.second);
    const auto position = positions.find(tp);
    if (!end || (position == positions.end() ? 0 : position->second) != *end) return false;
  }
  return true;
}

template <class Predicate>
bool eventually(std::chrono::milliseconds timeout, Predicate done) {
  for (auto deadline = std::chrono::steady_clock::now() + timeout; std::chrono::steady_clock::now() < deadline;) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  return done();
}

// One message of an output topic: its value and its paydist-state / paydist-seq headers.
struct PublishedOutput {
  std::string value;
  std::string state;  // "" when the header is missing
  std::string seq;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string partition_seq;  // paydist-partition-seq ([kafka] changelog), "" when missing
};

struct TopicContents {
  std::vector<PublishedOutput> messages;  // partition by partition, in offset order
  std::string problem;                    // "" or why the read is incomplete
};

// Every message of `topic` (partitions 0..partitions-1) up to the high watermark.
inline TopicContents read_output_topic(const std::string& bootstrap, const std::string& topic, int partitions) {
  TopicContents contents;
  auto reader = kafka::Reader::create({.brokers = bootstrap});
  if (!reader) return {{}, reader.error()};
  std::vector<std::pair<kafka::TopicPartition, std::int64_t>> from;
  std::int64_t expected = 0;
  for (int p = 0; p < partitions; ++p) {
    auto w = (*reader)->watermarks({topic, p}, std::chrono::seconds{10});
    if (!w) return {{}, w.error()};
    if (w->low != 0) contents.problem = "the broker dropped old messages of " + topic + ": keep the stream smaller";
    expected += w->high - w->low;
    from.push_back({{topic, p}, w->low});
  }
  if (!(*reader)->assign(from)) return {{}, "cannot assign " + topic};
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
       static_cast<std::int64_t>(contents.messages.size()) < expected && std::chrono::steady_clock::now() < deadline;) {
    auto polled = (*reader)->poll(std::chrono::milliseconds{100});
    if (!polled || !*polled) continue;
    PublishedOutput out{(*polled)->value, "", "", (*polled)->partition, (*polled)->offset};
    for (const kafka::Header& h : (*polled)->headers) {
      if (h.name == "paydist-state") out.state = h.value;
      if (h.name == "paydist-seq") out.seq = h.value;
      if (h.name == "paydist-partition-seq") out.partition_seq = h.value;
    }
    contents.messages.push_back(std::move(out));
  }
  if (static_cast<std::int64_t>(contents.messages.size()) != expected && contents.problem.empty())
    contents.problem = fmt::format("{}: read {} of {} messages", topic, contents.messages.size(), expected);
  return contents;
}

}  // namespace paydist::testing
