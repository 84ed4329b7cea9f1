// IDX parsing, including every kind of damaged file, and the MNIST-style folder loader.
#include <gtest/gtest.h>

#include <filesystem>

#include "deepgen/core/error.h"
#include "deepgen/data/dataset.h"
#include "deepgen/data/idx.h"
#include "test_util.h"

using namespace deepgen;
using deepgen::testing::idx_bytes;
using deepgen::testing::TempDir;
using deepgen::testing::write_bytes;

namespace {
// Runs `body`, expects a deepgen::Error whose message contains every fragment.
template <typename Body>
void expect_error(Body body, const std::vector<std::string>& fragments) {
  try {
    body();
    FAIL() << "expected deepgen::Error";
  } catch (const Error& error) {
    for (const auto& fragment : fragments) {
      EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos)
          << "message '" << error.what() << "' lacks '" << fragment << "'";
    }
  }
}
}  // namespace

TEST(Idx, ReadsRawAndGzipAlike) {
  TempDir dir("idx-ok");
  const std::vector<uint8_t> data = {1, 2, 3, 4, 5, 6};
  write_bytes(dir / "raw", idx_bytes({2, 3}, data));
  write_bytes(dir / "packed.gz", idx_bytes({2, 3}, data), /*gzip=*/true);
  for (const auto& name : {"raw", "packed.gz"}) {
    auto tensor = read_idx(dir / name);
    ASSERT_EQ(tensor.sizes(), (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(tensor.scalar_type(), torch::kUInt8);
    EXPECT_EQ(tensor[1][2].item<int>(), 6);
    EXPECT_EQ(tensor.sum().item<int>(), 21);
  }
}

TEST(Idx, RejectsWrongMagic) {
  TempDir dir("idx-magic");
  auto bytes = idx_bytes({2}, {1, 2});
  bytes[1] = 7;
  write_bytes(dir / "f", bytes);
  expect_error([&] { read_idx(dir / "f"); }, {dir / "f", "magic", "00 00", "found 0 7"});
}

TEST(Idx, RejectsWrongType) {
  TempDir dir("idx-type");
  auto bytes = idx_bytes({2}, {1, 2});
  bytes[2] = 0x0D;  // float data
  write_bytes(dir / "f", bytes);
  expect_error([&] { read_idx(dir / "f"); }, {"0x08", "found 0xd"});
}

TEST(Idx, RejectsTruncatedHeaderAndData) {
  TempDir dir("idx-trunc");
  auto bytes = idx_bytes({4, 28, 28}, std::vector<uint8_t>(4 * 28 * 28, 9));
  write_bytes(dir / "header", std::vector<uint8_t>(bytes.begin(), bytes.begin() + 9));
  expect_error([&] { read_idx(dir / "header"); }, {"truncated", "16-byte header", "found 9"});
  write_bytes(dir / "data", std::vector<uint8_t>(bytes.begin(), bytes.end() - 100));
  expect_error([&] { read_idx(dir / "data"); }, {"truncated", "3136", "found 3036"});
  auto padded = bytes;
  padded.push_back(0);
  write_bytes(dir / "padded", padded);
  expect_error([&] { read_idx(dir / "padded"); }, {"trailing garbage"});
}

TEST(Idx, RejectsDamagedGzipAndMissingFiles) {
  TempDir dir("idx-gz");
  write_bytes(dir / "f.gz", idx_bytes({64, 28, 28}, std::vector<uint8_t>(64 * 784, 3)), true);
  const auto size = std::filesystem::file_size(dir / "f.gz");
  std::filesystem::resize_file(dir / "f.gz", size / 2);
  expect_error([&] { read_idx(dir / "f.gz"); }, {dir / "f.gz"});
  expect_error([&] { read_idx(dir / "missing"); }, {"does not exist"});
  write_bytes(dir / "zero", idx_bytes({0}, {}));
  expect_error([&] { read_idx(dir / "zero"); }, {"must be positive"});
}

// Resource bombs: what a header claims is checked against the limit before anything is allocated,
// and a gzip stream is read no further than one byte past what its header declares.
TEST(Idx, RefusesHeadersAboveTheLimitBeforeAllocating) {
  TempDir dir("idx-bomb");
  // 10^12 items of one byte: far above the default 4 GiB.
  write_bytes(dir / "huge", idx_bytes({1000000, 1000000}, {1, 2, 3}));
  expect_error([&] { read_idx(dir / "huge"); },
               {dir / "huge", "declares 1000000 x 1000000 bytes", "above the limit", "DEEPGEN_MAX_DATA_BYTES"});
  // Four sizes of 2^32 - 1 would overflow int64 if multiplied out (UBSan would report it).
  write_bytes(dir / "overflow", idx_bytes({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {}), true);
  expect_error([&] { read_idx(dir / "overflow"); },
               {"declares 4294967295 x 4294967295 x 4294967295 x 4294967295 bytes", "DEEPGEN_MAX_DATA_BYTES"});
  // Below the limit, but the gzip'ed file holds almost nothing: refused as truncated (the buffer grows
  // only with what is read, so no gigabyte is allocated first).
  write_bytes(dir / "promise.gz", idx_bytes({1000, 1000, 1000}, {1, 2, 3}), true);
  expect_error([&] { read_idx(dir / "promise.gz"); }, {"truncated", "1000000000 bytes", "found 3"});
  // The limit is the environment variable's when set.
  {
    deepgen::testing::ScopedEnv limit("DEEPGEN_MAX_DATA_BYTES", "100");
    write_bytes(dir / "small", idx_bytes({101}, std::vector<uint8_t>(101, 1)));
    expect_error([&] { read_idx(dir / "small"); }, {"declares 101 bytes", "the limit is 100 bytes", "DEEPGEN_MAX_DATA_BYTES"});
    write_bytes(dir / "fits", idx_bytes({100}, std::vector<uint8_t>(100, 1)));
    EXPECT_EQ(read_idx(dir / "fits").numel(), 100);
  }
  {
    deepgen::testing::ScopedEnv limit("DEEPGEN_MAX_DATA_BYTES", "lots");
    expect_error([&] { read_idx(dir / "small"); }, {"DEEPGEN_MAX_DATA_BYTES", "expected an integer", "lots"});
  }
}

TEST(Idx, GzipBombIsReadOnlyAsFarAsTheHeaderSays) {
  TempDir dir("idx-gzip-bomb");
  // 64 MB of zeros after a header that declares 100 bytes compresses to about 64 kB.
  write_bytes(dir / "bomb.gz", idx_bytes({100}, std::vector<uint8_t>(size_t(64) << 20, 0)), true);
  EXPECT_LT(std::filesystem::file_size(dir / "bomb.gz"), size_t(1) << 20);
  expect_error([&] { read_idx(dir / "bomb.gz"); }, {"expected 100 bytes of data", "found more"});
}

TEST(Idx, FolderNeedsAllFourFiles) {
  TempDir dir("idx-folder");
  deepgen::testing::write_tiny_mnist(dir.str(), 20, 10);
  std::filesystem::remove(dir / "t10k-labels-idx1-ubyte.gz");
  expect_error([&] { find_idx_files(dir.str()); }, {dir.str(), "t10k-labels-idx1-ubyte"});
}

TEST(Idx, LabelCountMustMatchImages) {
  TempDir dir("idx-labels");
  deepgen::testing::write_tiny_mnist(dir.str(), 20, 10);
  write_bytes(dir / "train-labels-idx1-ubyte.gz", idx_bytes({19}, std::vector<uint8_t>(19, 1)), true);
  DataOptions options;
  options.dir = dir.str();
  expect_error([&] { load_data(options, PixelRange::kUnit, torch::kCPU); }, {"expected 20 labels", "found 19"});
}

TEST(Dataset, LoadsIdxFolderNormalizedOnce) {
  TempDir dir("idx-load");
  deepgen::testing::write_tiny_mnist(dir.str(), 30, 12, /*gzip=*/false);
  DataOptions options;
  options.dir = dir.str();
  options.train_limit = 25;
  auto unit = load_data(options, PixelRange::kUnit, torch::kCPU);
  EXPECT_EQ(unit.format, "idx");
  ASSERT_EQ(unit.train.images.sizes(), (std::vector<int64_t>{25, 1, 28, 28}));
  ASSERT_EQ(unit.test.images.sizes(), (std::vector<int64_t>{12, 1, 28, 28}));
  EXPECT_EQ(unit.train.labels.sizes(), (std::vector<int64_t>{25}));
  EXPECT_EQ(unit.train.labels[13].item<int64_t>(), 3);
  EXPECT_FLOAT_EQ(unit.train.images[7][0][0][0].item<float>(), 7.0f / 255.0f);
  EXPECT_FLOAT_EQ(unit.train.images.max().item<float>(), 1.0f);
  auto symmetric = load_data(options, PixelRange::kSymmetric, torch::kCPU);
  EXPECT_FLOAT_EQ(symmetric.train.images.min().item<float>(), -1.0f);
  EXPECT_FLOAT_EQ(symmetric.train.images.max().item<float>(), 1.0f);
  options.image_size = 32;
  options.channels = 3;
  auto resized = load_data(options, PixelRange::kUnit, torch::kCPU);
  EXPECT_EQ(resized.train.images.sizes(), (std::vector<int64_t>{25, 3, 32, 32}));
}

TEST(Dataset, RandomFlipMirrorsAboutHalfTheImages) {
  torch::manual_seed(0);
  auto images = torch::rand({1000, 1, 4, 5});
  auto out = random_flip(images);
  int64_t flipped = 0;
  for (int64_t i = 0; i < 1000; ++i) {
    const bool same = torch::equal(out[i], images[i]), mirrored = torch::equal(out[i], images[i].flip({2}));
    ASSERT_TRUE(same || mirrored) << i;
    flipped += mirrored;
  }
  EXPECT_NEAR(double(flipped), 500.0, 60.0);
}

TEST(Dataset, ReadsTheRealFashionMnist) {
  if (!std::filesystem::exists(DEEPGEN_FASHION_MNIST)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const IdxFiles files = find_idx_files(DEEPGEN_FASHION_MNIST);
  auto images = read_idx(files.test_images);
  EXPECT_EQ(images.sizes(), (std::vector<int64_t>{10000, 28, 28}));
  auto labels = read_idx(files.test_labels);
  EXPECT_EQ(labels.sizes(), (std::vector<int64_t>{10000}));
  EXPECT_EQ(labels.max().item<int>(), 9);
  // Fashion-MNIST's test split is balanced: 1000 images per class.
  EXPECT_EQ(torch::bincount(labels.to(torch::kLong).flatten()).min().item<int64_t>(), 1000);
}

TEST(Dataset, MissingFolderNamesItAndTheFix) {
  DataOptions options;
  options.dir = "/nonexistent/deepgen-data";
  expect_error([&] { load_data(options, PixelRange::kUnit, torch::kCPU); },
               {"--data", "/nonexistent/deepgen-data", "does not exist"});
}
