// Image folders: decoding, resizing, class sub-folders, the fixed split, and PNG output.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "deepgen/core/error.h"
#include "deepgen/data/dataset.h"
#include "deepgen/data/image_folder.h"
#include "deepgen/data/image_grid.h"
#include "test_util.h"

using namespace deepgen;
using deepgen::testing::TempDir;
using deepgen::testing::error_of;

TEST(Images, PngRoundTripIsExact) {
  TempDir dir("png");
  auto image = torch::randint(0, 256, {3, 10, 14}, torch::kUInt8);
  write_png(dir / "a.png", image);
  EXPECT_TRUE(torch::equal(load_image(dir / "a.png"), image));
  auto gray = torch::randint(0, 256, {1, 9, 5}, torch::kUInt8);
  write_png(dir / "g.png", gray);
  EXPECT_TRUE(torch::equal(load_image(dir / "g.png"), gray));
  EXPECT_EQ(load_image(dir / "g.png", 3).sizes(), (std::vector<int64_t>{3, 9, 5}));
}

TEST(Images, SquareResizeCropsTheCentre) {
  auto image = torch::zeros({1, 20, 40}, torch::kUInt8);
  image.narrow(2, 10, 20).fill_(200);  // the centre 20x20 square is bright
  auto out = square_resize(image, 10);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 10, 10}));
  EXPECT_EQ(out.min().item<int>(), 200);
  EXPECT_EQ(square_resize(torch::full({3, 8, 8}, 7, torch::kUInt8), 16).sizes(), (std::vector<int64_t>{3, 16, 16}));
}

TEST(Images, FolderWithClassesAndFixedSplit) {
  TempDir dir("folder");
  for (int i = 0; i < 12; ++i) {
    const std::string cls = i % 2 ? "cats" : "dogs";
    write_png(dir / (cls + "/img" + std::to_string(10 + i) + ".png"),
              torch::full({3, 40, 30}, i * 10, torch::kUInt8));
  }
  DataOptions options;
  options.dir = dir.str();
  options.image_size = 16;
  auto data = load_data(options, PixelRange::kUnit, torch::kCPU);
  EXPECT_EQ(data.format, "image-folder");
  EXPECT_EQ(data.channels, 3);
  // Every 10th image in sorted order is held out: 12 images -> 11 train, 1 test.
  EXPECT_EQ(data.train.size(), 11);
  EXPECT_EQ(data.test.size(), 1);
  EXPECT_EQ(data.train.images.sizes(), (std::vector<int64_t>{11, 3, 16, 16}));
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"cats", "dogs"}));
  EXPECT_EQ(data.train.labels[0].item<int64_t>(), 0);
  EXPECT_EQ(data.train.labels.sum().item<int64_t>(), 5);  // 6 cats (0) in sorted order before 5 train dogs (1)
}

TEST(Images, UnreadableImageIsNamed) {
  TempDir dir("bad-image");
  write_png(dir / "good.png", torch::zeros({1, 8, 8}, torch::kUInt8));
  std::ofstream(dir / "broken.png") << "this is not a png";
  DataOptions options;
  options.dir = dir.str();
  try {
    load_data(options, PixelRange::kUnit, torch::kCPU);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(dir / "broken.png"), std::string::npos) << error.what();
  }
}

namespace {
// A real PNG whose IHDR is rewritten to declare width x height (stb does not check the chunk's CRC).
void write_png_declaring(const std::string& path, uint32_t width, uint32_t height, int channels) {
  write_png(path, torch::zeros({channels, 8, 8}, torch::kUInt8));
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  const unsigned char size[8] = {uint8_t(width >> 24), uint8_t(width >> 16), uint8_t(width >> 8), uint8_t(width),
                                 uint8_t(height >> 24), uint8_t(height >> 16), uint8_t(height >> 8), uint8_t(height)};
  file.seekp(16);
  file.write(reinterpret_cast<const char*>(size), 8);
}

}  // namespace

// Declared sizes are checked against the pixel limit before decoding: the PNG that declared
// 60000x60000 used to get "unknown format", and a gray 20000x20000 one was decoded into gigabytes.
TEST(Images, HugeDeclaredSizeIsRefusedBeforeDecoding) {
  TempDir dir("image-bomb");
  write_png_declaring(dir / "huge.png", 60000, 60000, 3);  // stb's own header check refuses it too
  std::string message = error_of([&] { load_image(dir / "huge.png"); });
  for (const std::string& part : {dir / "huge.png", std::string("PNG declares 60000x60000 = 3600000000 pixels"),
                                  std::string("above the pixel limit"), std::string("DEEPGEN_MAX_IMAGE_PIXELS")}) {
    EXPECT_NE(message.find(part), std::string::npos) << message;
  }
  write_png_declaring(dir / "gray.png", 20000, 20000, 1);  // stb reads this header: the limit refuses it
  message = error_of([&] { load_image(dir / "gray.png"); });
  EXPECT_NE(message.find("20000x20000 = 400000000 pixels, above the pixel limit (the limit is 200000000 pixels"),
            std::string::npos) << message;
  // Sides near 2^32 (fuzz_image's first finding): their product overflowed int64, the check passed
  // and the message blamed stb instead of the size.
  write_png_declaring(dir / "wide.png", 4143972346u, 4294967292u, 1);
  message = error_of([&] { load_image(dir / "wide.png"); });
  EXPECT_NE(message.find("4143972346x4294967292 = 17798225685022507032 pixels, above the pixel limit"), std::string::npos)
      << message;
  // An image folder is probed the same way before anything is decoded.
  DataOptions options;
  options.dir = dir.str();
  message = error_of([&] { load_data(options, PixelRange::kUnit, torch::kCPU); });
  EXPECT_NE(message.find("above the pixel limit"), std::string::npos) << message;
}

// fuzz_image's second finding: a PNM header of width 0 was decoded as an empty image.
TEST(Images, EmptyImageIsRefused) {
  TempDir dir("image-empty");
  std::ofstream(dir / "empty.pgm", std::ios::binary) << "P5\n0 3\n255\n";
  const std::string message = error_of([&] { load_image(dir / "empty.pgm"); });
  EXPECT_NE(message.find(dir / "empty.pgm" + ": it declares 0x3 pixels; expected a positive width and height"),
            std::string::npos) << message;
}

// Every image input that made fuzz_image fail (fuzz/regressions/image/) is now refused with one line.
// Among them, a JPEG whose Huffman table declares more than 256 codes: Debian 12's stb_image (v2.27)
// writes past a table for it (UBSan: index 257 out of bounds); deepgen checks the tables first.
TEST(Images, FuzzRegressionsAreRefusedInOneLine) {
  const std::string dir = std::string(DEEPGEN_FUZZ_REGRESSIONS) + "/image";
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string path = entry.path().string();
    for (int channels : {0, 1, 3}) {
      const std::string message = error_of([&] { load_image(path, channels); });
      EXPECT_NE(message, "(no error)") << path;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      EXPECT_NE(message.find(path), std::string::npos) << message;
    }
    ++count;
  }
  EXPECT_GE(count, 3);
  const std::string message = error_of([&] { load_image(dir + "/jpeg-huffman-table-overflow"); });
  EXPECT_NE(message.find("a JPEG Huffman table declares 1271 codes, expected at most 256"), std::string::npos) << message;
  // The same past the end of the file, where stb reads zeros (its last table's counts are cut short).
  const std::string cut = error_of([&] { load_image(dir + "/jpeg-huffman-table-cut-by-end-of-file"); });
  EXPECT_NE(cut.find("a JPEG Huffman table declares 653 codes"), std::string::npos) << cut;
  // 16-bit PNMs (maxval 6789), short or whole: stb 2.27 would read past its 8-bit buffer.
  for (const char* name : {"/pnm-16bit-short", "/pnm-16bit-whole"}) {
    const std::string pnm = error_of([&] { load_image(dir + name); });
    EXPECT_NE(pnm.find("a 16-bit PNM (maxval 6789); expected 8-bit"), std::string::npos) << pnm;
  }
  // An 8-bit one whose pixels end early is refused before stb reads it.
  TempDir short_dir("pnm-short");
  { std::ofstream(short_dir / "short.ppm", std::ios::binary) << "P6\n2 2\n255\n" << std::string(5, 'x'); }
  const std::string cut_pnm = error_of([&] { load_image(short_dir / "short.ppm"); });
  EXPECT_NE(cut_pnm.find("the PNM declares 2x2 pixels of 3 bytes each (maxval 255), 12 bytes, but holds 5"),
            std::string::npos) << cut_pnm;
}

TEST(Images, PixelLimitIsRaisedByItsVariable) {
  TempDir dir("image-limit");
  write_png(dir / "a.png", torch::zeros({3, 8, 8}, torch::kUInt8));
  {
    deepgen::testing::ScopedEnv limit("DEEPGEN_MAX_IMAGE_PIXELS", "63");
    const std::string message = error_of([&] { load_image(dir / "a.png"); });
    EXPECT_NE(message.find("8x8 = 64 pixels, above the pixel limit (the limit is 63 pixels; set DEEPGEN_MAX_IMAGE_PIXELS"),
              std::string::npos) << message;
  }
  {
    deepgen::testing::ScopedEnv limit("DEEPGEN_MAX_IMAGE_PIXELS", "64");
    EXPECT_EQ(load_image(dir / "a.png").sizes(), (std::vector<int64_t>{3, 8, 8}));
  }
  // A 50-megapixel photo is under the default limit: only its header is read here.
  write_png_declaring(dir / "photo.png", 8660, 5774, 3);
  EXPECT_EQ(image_info(dir / "photo.png").width, 8660);
}

TEST(Images, GridLayout) {
  auto images = torch::full({5, 1, 4, 6}, 255, torch::kUInt8);
  auto grid = image_grid(images, 3, 2);
  // 2 rows x 3 columns of 4x6 with 2-pixel padding.
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{1, 2 * 6 + 2, 3 * 8 + 2}));
  EXPECT_EQ(grid[0][2][2].item<int>(), 255);
  EXPECT_EQ(grid[0][0][0].item<int>(), 100);
  EXPECT_EQ(grid[0][8][18].item<int>(), 100);  // the sixth cell is empty
}
