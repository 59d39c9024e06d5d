// daemon/http_server.h: a small HTTP/1.1 server (Boost.Beast) on the daemon's io_context for
// /metrics, /healthz and /readyz. GET only, one request per connection, bounded request size
// and time; the routes come from the caller. Holds no state of the daemon's own.
//   auto http = HttpServer::start(io, "127.0.0.1:9464", [](std::string_view path) { ... });
//   http->port();   // the bound port (useful with port 0)
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "core/result.h"

namespace paydist {

struct HttpReply {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpServer {
 public:
  using Handler = std::function<HttpReply(std::string_view path)>;
  // `listen` is host:port (IPv4 or [IPv6]); port 0 picks a free one.
  static Result<std::unique_ptr<HttpServer>> start(boost::asio::io_context& io, const std::string& listen,
                                                   Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const;
  void stop();

  struct Impl;

 private:
  explicit HttpServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace paydist
