// Progress display: a live bar with rate and ETA on a terminal, plain lines otherwise (logs, CI).
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "deepgen/models/family.h"

namespace deepgen {

class Progress {
 public:
  // mode: "auto" (bar when stderr is a terminal), "bar", "lines" or "none"; unit: what the rate counts.
  Progress(const std::string& mode, std::ostream& out, std::string unit = "img");

  void start_epoch(int64_t epoch, int64_t epochs, int64_t batches);
  void update(int64_t batch, int64_t images, double loss);  // after each batch
  void end_epoch(const Metrics& train, const Metrics& test, double seconds, int64_t images);
  void message(const std::string& text);

 private:
  bool bar_ = false, quiet_ = false;
  std::ostream& out_;
  std::string unit_;
  int64_t epoch_ = 0, epochs_ = 0, batches_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

std::string format_metrics(const Metrics& metrics);

}  // namespace deepgen
