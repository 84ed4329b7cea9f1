// The pieces of the run reports that have exact answers: CRC-32C test vectors and TFRecord framing.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "deepgen/report/tensorboard.h"
#include "test_util.h"

using namespace deepgen;
using deepgen::testing::TempDir;

TEST(TensorBoard, Crc32cMatchesItsCheckValues) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);  // the catalogue's check value of CRC-32C
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);  // RFC 3720 (iSCSI), 32 zero bytes
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);  // and 32 bytes of 0xff
  const uint32_t crc = 0xE3069283u;
  EXPECT_EQ(masked_crc32c("123456789"), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
}

// Each record is length (8 bytes), masked CRC of the length, the event, masked CRC of the event; the
// first event names the file version.
TEST(TensorBoard, RecordsAreFramedAndChecksummed) {
  TempDir dir("events");
  std::string path;
  {
    EventWriter writer(dir.str());
    writer.scalar("train/loss", 3, 0.5);
    writer.image("images/samples", 3, torch::zeros({1, 4, 6}, torch::kUInt8));
    path = writer.path();
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  const std::string file = bytes.str();
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | uint8_t(file[at + size_t(i)]);
    return v;
  };
  size_t at = 0, records = 0;
  while (at < file.size()) {
    ASSERT_LE(at + 12, file.size());
    uint64_t length = 0;
    for (int i = 7; i >= 0; --i) length = (length << 8) | uint8_t(file[at + size_t(i)]);
    EXPECT_EQ(u32(at + 8), masked_crc32c(file.substr(at, 8)));
    ASSERT_LE(at + 12 + length + 4, file.size());
    const std::string event = file.substr(at + 12, length);
    EXPECT_EQ(u32(at + 12 + length), masked_crc32c(event));
    if (records == 0) EXPECT_NE(event.find("brain.Event:2"), std::string::npos);
    if (records == 1) EXPECT_NE(event.find("train/loss"), std::string::npos);
    if (records == 2) EXPECT_NE(event.find("\x89PNG"), std::string::npos);
    at += 12 + length + 4;
    ++records;
  }
  EXPECT_EQ(records, 3u);
}
