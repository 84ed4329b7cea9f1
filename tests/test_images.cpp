// Image folders: decoding, resizing, class sub-folders, the fixed split, and PNG output.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "deepgen/core/error.h"
#include "deepgen/data/dataset.h"
#include "deepgen/data/image_folder.h"
#include "deepgen/data/image_grid.h"
#include "test_util.h"

using namespace deepgen;
using deepgen::testing::TempDir;

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

TEST(Images, GridLayout) {
  auto images = torch::full({5, 1, 4, 6}, 255, torch::kUInt8);
  auto grid = image_grid(images, 3, 2);
  // 2 rows x 3 columns of 4x6 with 2-pixel padding.
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{1, 2 * 6 + 2, 3 * 8 + 2}));
  EXPECT_EQ(grid[0][2][2].item<int>(), 255);
  EXPECT_EQ(grid[0][0][0].item<int>(), 100);
  EXPECT_EQ(grid[0][8][18].item<int>(), 100);  // the sixth cell is empty
}
