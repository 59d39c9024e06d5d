// tests/integration/daemon_security_test.cpp: paydistd's exposure (issue 7, item 6). Its
// HTTP endpoint answers only GET and HEAD, bounds a request's header, closes an idle
// connection and listens on loopback unless told otherwise; a secret of [kafka.client] is
// never in its log nor in what the endpoint serves; its state files are not readable by
// others.
#include <ifaddrs.h>
#include <sys/stat.h>

#include "tests/integration/daemon_fixture.h"

namespace paydist::integration {
namespace {

using testing::connect_to;
using testing::receive_all;

class DaemonSecurityTest : public DaemonTest {};

TEST_F(DaemonSecurityTest, TheEndpointAnswersOnlyGetAndHead) {
  start_daemon();
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
    const HttpResponse r = http_exchange(
        port_, fmt::format("{} /metrics HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}",
                           method));
    EXPECT_EQ(r.status, 405) << method;
  }
  const HttpResponse head = http_exchange(port_, "HEAD /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(http_get(port_, "/healthz").first, 200);
}

// A header beyond the server's 16 KiB bound: the connection ends without the request being
// served, and the daemon goes on answering.
TEST_F(DaemonSecurityTest, AnOversizedHeaderEndsTheConnectionNotTheDaemon) {
  start_daemon();
  const std::string big(64 * 1024, 'a');
  const HttpResponse r =
      http_exchange(port_, fmt::format("GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n", big));
  EXPECT_TRUE(r.status == 0 || r.status == 431 || r.status == 400) << r.status;
  EXPECT_EQ(r.body.find("paydist_"), std::string::npos) << "the oversized request was served";
  // A body beyond the bound, announced by Content-Length, is not read either.
  const HttpResponse body = http_exchange(
      port_, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10000000\r\n\r\n" + std::string(64 * 1024, 'b'));
  EXPECT_EQ(body.body.find("paydist_"), std::string::npos) << "the oversized body was served";
  EXPECT_FALSE(daemon_.wait_for(0ms)) << daemon_.err();
  EXPECT_EQ(http_get(port_, "/healthz").first, 200);
}

// A connection that sends nothing, or half a request, is closed by the server after its
// 10 s timeout (a client cannot hold connections open for ever).
TEST_F(DaemonSecurityTest, AnIdleConnectionIsClosedAfterTheTimeout) {
  start_daemon();
  const int silent = connect_to(port_), half = connect_to(port_);
  ASSERT_GE(silent, 0);
  ASSERT_GE(half, 0);
  const std::string partial = "GET /metrics HTTP/1.1\r\nHost: loc";
  ASSERT_EQ(::send(half, partial.data(), partial.size(), MSG_NOSIGNAL), static_cast<ssize_t>(partial.size()));
  const timeval wait{20, 0};
  for (int fd : {silent, half}) ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  const auto started = std::chrono::steady_clock::now();
  for (int fd : {silent, half}) {
    char byte = 0;
    EXPECT_EQ(::recv(fd, &byte, 1, 0), 0) << "not closed by the server (or it answered)";
    ::close(fd);
  }
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, 8s);
  EXPECT_LT(took, 15s);
  EXPECT_EQ(http_get(port_, "/healthz").first, 200);
}

// With no [http] listen key the endpoint is on 127.0.0.1:9464 only: another address of
// this machine is refused.
TEST_F(DaemonSecurityTest, TheDefaultListenAddressIsLoopback) {
  std::string config = read_text(dir_ / "paydist.toml");
  config.erase(config.find("listen = "));
  std::ofstream(dir_ / "paydist.toml") << config;
  daemon_ = Child::spawn({kDaemon, "--config", (dir_ / "paydist.toml").string()}, dir_ / "daemon-default");
  ASSERT_TRUE(eventually(30s, [&] { return testing::http_port_in_log(daemon_.err()) != 0 || daemon_.wait_for(0ms); }));
  if (daemon_.wait_for(0ms) && daemon_.err().find("cannot listen") != std::string::npos)
    GTEST_SKIP() << "port 9464 is taken on this machine: " << daemon_.err();
  ASSERT_EQ(testing::http_port_in_log(daemon_.err()), 9464) << daemon_.err();
  EXPECT_EQ(http_get(9464, "/healthz").first, 200);
  ifaddrs* addresses = nullptr;
  ASSERT_EQ(::getifaddrs(&addresses), 0);
  int tried = 0;
  for (ifaddrs* a = addresses; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    char host[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, host, sizeof host);
    if (std::string{host}.rfind("127.", 0) == 0) continue;
    const int fd = connect_to(9464, host);
    EXPECT_LT(fd, 0) << "the endpoint answers on " << host;
    if (fd >= 0) ::close(fd);
    ++tried;
  }
  ::freeifaddrs(addresses);
  if (tried == 0) std::cout << "no address other than loopback to try\n";
}

// The secret of [kafka.client] (a SASL password here; the test broker ignores it with
// security.protocol plaintext) appears nowhere the daemon writes or serves.
TEST_F(DaemonSecurityTest, AKafkaSecretIsNeverLoggedNorServed) {
  const std::string secret = "s3cret-Pa55word-7f1c";
  write_config("", "state",
               fmt::format("\"sasl.username\" = \"paydist\"\n\"sasl.password\" = \"{}\"\n\"ssl.key.password\" = \"{}\"",
                           secret, secret));
  const fs::path events = generate(30, 10, 70);
  start_daemon();
  feed(events);
  ASSERT_TRUE(eventually(60s, [&] { return caught_up(); })) << metrics() << daemon_.err();
  for (const char* path : {"/metrics", "/healthz", "/readyz", "/", "/status", "/config"}) {
    const std::string body = http_get(port_, path).second;
    EXPECT_EQ(body.find(secret), std::string::npos) << path;
  }
  EXPECT_EQ(daemon_.stop(SIGTERM, 5s), 0) << daemon_.err();
  EXPECT_NE(daemon_.err().find("stopped"), std::string::npos) << "the log is not where expected";
  EXPECT_EQ(daemon_.err().find(secret), std::string::npos) << daemon_.err();
  EXPECT_EQ(daemon_.out().find(secret), std::string::npos) << daemon_.out();
}

// LMDB's files hold everyone's money records: readable by the service user only.
TEST_F(DaemonSecurityTest, TheStateFilesAreNotReadableByOthers) {
  start_daemon();
  ASSERT_TRUE(wait_assigned()) << daemon_.err();
  for (const char* file : {"data.mdb", "lock.mdb"}) {
    struct stat st {};
    ASSERT_EQ(::stat((state_ / file).c_str(), &st), 0) << file;
    const mode_t mode = st.st_mode & 0777;
    EXPECT_TRUE(mode == 0600 || mode == 0640) << file << " has mode " << fmt::format("{:o}", mode);
  }
  struct stat dir {};
  ASSERT_EQ(::stat(state_.c_str(), &dir), 0);
  EXPECT_EQ(dir.st_mode & 0007, 0u) << "the state directory is open to others: " << fmt::format("{:o}", dir.st_mode & 0777);
}

}  // namespace
}  // namespace paydist::integration
