// daemon/kafka_tools.h: the Kafka subcommands of `paydist` (issue 5): `broker` (a local
// development broker), `feed` (input lines into the input topic), `tail` (a topic's
// messages to stdout) and `partitions` (issue 8: who holds each input partition, how far).
// Wiring only: no business rule, no state.
//   KafkaTools tools{app};                        // before app.parse()
//   if (std::optional<int> rc = tools.run_parsed()) return *rc;
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace paydist {

class KafkaTools {
 public:
  explicit KafkaTools(CLI::App& app);
  // The exit status of the subcommand the user named, or nullopt if it named none of these.
  std::optional<int> run_parsed();

 private:
  struct BrokerArgs {
    int partitions = 4;
    std::string brokers_file;
    std::vector<std::string> extra_topics;
  };
  struct FeedArgs {
    std::string brokers;
    std::string config_path;
    std::string topic;  // empty: the config's input topic, or the contract's
    std::string compression;  // empty: librdkafka's default (none)
    int max_in_flight = 0;    // 0: librdkafka's default (5)
    std::vector<std::string> files;
  };
  struct TailArgs {
    std::string brokers;
    std::string config_path;
    std::string topic;
    bool until_end = false;
  };

  CLI::App* broker_ = nullptr;
  CLI::App* feed_ = nullptr;
  CLI::App* tail_ = nullptr;
  CLI::App* partitions_ = nullptr;
  std::string partitions_config_;
  BrokerArgs broker_args_;
  FeedArgs feed_args_;
  TailArgs tail_args_;
};

}  // namespace paydist
