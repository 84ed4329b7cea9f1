// TensorBoard event files (`tensorboard --logdir runs/` shows them): scalars and images, written as
// TFRecords of Event protocol buffers (report/tensorboard_event.proto, compiled by Debian's protoc)
// with masked CRC-32C checksums (Google's crcutil from Debian). One file per writer:
// DIR/events.out.tfevents.<seconds>.<host>.<pid>, flushed after every write, so TensorBoard sees a
// run live and a killed process loses nothing written.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <fstream>
#include <string>

namespace deepgen {

// CRC-32C (Castagnoli) of `bytes`, and TFRecord's masked form ((crc >> 15 | crc << 17) + 0xa282ead8).
uint32_t crc32c(const std::string& bytes);
uint32_t masked_crc32c(const std::string& bytes);

class EventWriter {
 public:
  explicit EventWriter(const std::string& dir);
  void scalar(const std::string& tag, int64_t step, double value);
  // image: (C, H, W) uint8, C 1 or 3, stored as PNG.
  void image(const std::string& tag, int64_t step, const torch::Tensor& image);
  const std::string& path() const { return path_; }

 private:
  void write(const std::string& event);
  std::string path_;
  std::ofstream out_;
};

}  // namespace deepgen
