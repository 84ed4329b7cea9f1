#include "deepgen/training/progress.h"

#include <unistd.h>

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "deepgen/core/error.h"

namespace deepgen {

std::string format_metrics(const Metrics& metrics) {
  std::ostringstream out;
  out << std::setprecision(5);
  bool first = true;
  // "loss" first, the rest in name order.
  if (auto it = metrics.find("loss"); it != metrics.end()) {
    out << "loss " << it->second;
    first = false;
  }
  for (const auto& [name, value] : metrics) {
    if (name == "loss") continue;
    out << (first ? "" : "  ") << name << " " << value;
    first = false;
  }
  return out.str();
}

Progress::Progress(const std::string& mode, std::ostream& out, std::string unit) : out_(out), unit_(std::move(unit)) {
  check(mode == "auto" || mode == "bar" || mode == "lines" || mode == "none",
        "--progress: expected auto, bar, lines or none, found '", mode, "'");
  bar_ = mode == "bar" || (mode == "auto" && isatty(fileno(stderr)));
  quiet_ = mode == "none";
}

void Progress::start_epoch(int64_t epoch, int64_t epochs, int64_t batches) {
  epoch_ = epoch;
  epochs_ = epochs;
  batches_ = batches;
  start_ = std::chrono::steady_clock::now();
  last_draw_ = start_ - std::chrono::seconds(1);
}

void Progress::update(int64_t batch, int64_t images, double loss) {
  if (!bar_) return;
  const auto now = std::chrono::steady_clock::now();
  if (batch < batches_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? images / seconds : 0.0;
  const double eta = batch > 0 ? seconds * double(batches_ - batch) / double(batch) : 0.0;
  constexpr int kWidth = 30;
  const int filled = batches_ > 0 ? int(kWidth * batch / batches_) : kWidth;
  char line[256];
  std::snprintf(line, sizeof line, "\r\033[Kepoch %lld/%lld [%s%s] %lld/%lld  %.0f %s/s  ETA %d:%02d  loss %.4g",
                (long long)epoch_, (long long)epochs_, std::string(filled, '#').c_str(),
                std::string(kWidth - filled, '.').c_str(), (long long)batch, (long long)batches_, rate, unit_.c_str(),
                int(eta) / 60, int(eta) % 60, loss);
  out_ << line << std::flush;
}

void Progress::end_epoch(const Metrics& train, const Metrics& test, double seconds, int64_t images) {
  if (quiet_) return;
  if (bar_) out_ << "\r\033[K";
  out_ << "epoch " << epoch_ << "/" << epochs_ << "  train: " << format_metrics(train)
       << "\n" << std::string(std::to_string(epoch_).size() * 2 + 8, ' ') << "test:  " << format_metrics(test)
       << "  (" << std::fixed << std::setprecision(1) << seconds << " s, " << std::setprecision(0)
       << (seconds > 0 ? images / seconds : 0.0) << " " << unit_ << "/s)" << std::defaultfloat << std::endl;
}

void Progress::message(const std::string& text) {
  if (!quiet_) out_ << text << std::endl;
}

}  // namespace deepgen
