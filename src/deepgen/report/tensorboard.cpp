#include "deepgen/report/tensorboard.h"

#include <crcutil/generic_crc.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "deepgen/core/error.h"
#include "deepgen/data/image_folder.h"
#include "tensorboard_event.pb.h"

namespace deepgen {
namespace fs = std::filesystem;

namespace {
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

uint32_t crc32c(const std::string& bytes) {
  // The Castagnoli polynomial, reflected (0x82f63b78), 32 bits, with the usual initial and final inversion.
  static const crcutil::GenericCrc<uint64_t, uint64_t, uint64_t, 4> crc(0x82f63b78, 32, /*canonical=*/true);
  return uint32_t(crc.CrcDefault(bytes.data(), bytes.size(), 0));
}

uint32_t masked_crc32c(const std::string& bytes) {
  const uint32_t crc = crc32c(bytes);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

EventWriter::EventWriter(const std::string& dir) {
  fs::create_directories(dir);
  char host[256] = "host";
  ::gethostname(host, sizeof(host) - 1);
  path_ = (fs::path(dir) / ("events.out.tfevents." + std::to_string(int64_t(now_seconds())) + "." + host + "." +
                            std::to_string(::getpid())))
              .string();
  out_.open(path_, std::ios::binary | std::ios::app);
  check(bool(out_), "cannot write TensorBoard events to ", path_);
  tensorboard::Event event;
  event.set_wall_time(now_seconds());
  event.set_file_version("brain.Event:2");
  write(event.SerializeAsString());
}

void EventWriter::write(const std::string& event) {
  // A TFRecord: length (uint64, little-endian), its masked CRC, the bytes, their masked CRC.
  std::string length(8, '\0');
  for (int i = 0; i < 8; ++i) length[size_t(i)] = char((uint64_t(event.size()) >> (8 * i)) & 0xff);
  auto little = [](uint32_t value) {
    std::string bytes(4, '\0');
    for (int i = 0; i < 4; ++i) bytes[size_t(i)] = char((value >> (8 * i)) & 0xff);
    return bytes;
  };
  out_ << length << little(masked_crc32c(length)) << event << little(masked_crc32c(event));
  out_.flush();
  check(bool(out_), "cannot write TensorBoard events to ", path_, " (disk full?)");
}

void EventWriter::scalar(const std::string& tag, int64_t step, double value) {
  tensorboard::Event event;
  event.set_wall_time(now_seconds());
  event.set_step(step);
  auto* entry = event.mutable_summary()->add_value();
  entry->set_tag(tag);
  entry->set_simple_value(float(value));
  write(event.SerializeAsString());
}

void EventWriter::image(const std::string& tag, int64_t step, const torch::Tensor& image) {
  const std::vector<uint8_t> png = encode_png(image);
  tensorboard::Event event;
  event.set_wall_time(now_seconds());
  event.set_step(step);
  auto* entry = event.mutable_summary()->add_value();
  entry->set_tag(tag);
  auto* picture = entry->mutable_image();
  picture->set_height(int32_t(image.size(1)));
  picture->set_width(int32_t(image.size(2)));
  picture->set_colorspace(int32_t(image.size(0)));
  picture->set_encoded_image_string(std::string(png.begin(), png.end()));
  write(event.SerializeAsString());
}

}  // namespace deepgen
