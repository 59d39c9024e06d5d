// daemon/http_server.cpp: Beast HTTP/1.1, asynchronous on the caller's io_context. Each
// connection reads one request (header and body bounded), answers it, and closes. Errors on
// a connection end that connection only; Beast's exceptions never escape.
#include "daemon/http_server.h"

#include <chrono>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

namespace paydist {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kConnectionTimeout = std::chrono::seconds{10};
constexpr std::uint32_t kRequestBytesMax = 16 * 1024;

// host:port or [v6]:port.
Result<tcp::endpoint> parse_listen(const std::string& listen) {
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size())
    return Error{fmt::format("http listen address {:?} is not host:port", listen)};
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  for (char c : listen.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) return Error{fmt::format("http listen address {:?}: bad port", listen)};
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port > 65535) return Error{fmt::format("http listen address {:?}: bad port", listen)};
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return Error{fmt::format("http listen address {:?}: {} is not an IP address", listen, host)};
  return tcp::endpoint{address, static_cast<std::uint16_t>(port)};
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<const HttpServer::Handler> handler)
      : stream_(std::move(socket)), handler_(std::move(handler)) {}

  void start() {
    parser_.header_limit(kRequestBytesMax);
    parser_.body_limit(kRequestBytesMax);
    stream_.expires_after(kConnectionTimeout);
    http::async_read(stream_, buffer_, parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

 private:
  void on_read(beast::error_code ec) {
    if (ec) return;  // closed, timed out or malformed: nothing to answer
    const auto& request = parser_.get();
    HttpReply reply;
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      reply = {405, "text/plain; charset=utf-8", "method not allowed\n"};
    } else {
      std::string_view path{request.target().data(), request.target().size()};
      if (std::size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
      reply = (*handler_)(path);
    }
    response_.version(request.version());
    response_.result(reply.status);
    response_.set(http::field::server, "paydistd");
    response_.set(http::field::content_type, reply.content_type);
    response_.keep_alive(false);
    if (request.method() != http::verb::head) response_.body() = std::move(reply.body);
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, std::size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request_parser<http::string_body> parser_;
  http::response<http::string_body> response_;
  std::shared_ptr<const HttpServer::Handler> handler_;  // outlives the server if need be
};

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io, Handler h) : acceptor(io), handler(std::make_shared<const Handler>(std::move(h))) {}

  void accept() {
    acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      if (!self->acceptor.is_open()) return;
      if (!ec) std::make_shared<Session>(std::move(socket), self->handler)->start();
      self->accept();
    });
  }

  tcp::acceptor acceptor;
  std::shared_ptr<const Handler> handler;
};

HttpServer::HttpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::start(asio::io_context& io, const std::string& listen, Handler handler) {
  Result<tcp::endpoint> endpoint = parse_listen(listen);
  if (!endpoint) return Error{endpoint.error()};
  auto impl = std::make_shared<Impl>(io, std::move(handler));
  beast::error_code ec;
  impl->acceptor.open(endpoint->protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(*endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{fmt::format("http: cannot listen on {}: {}", listen, ec.message())};
  impl->accept();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

std::uint16_t HttpServer::port() const {
  beast::error_code ec;
  const tcp::endpoint local = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : local.port();
}

void HttpServer::stop() {
  if (!impl_) return;
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

}  // namespace paydist
