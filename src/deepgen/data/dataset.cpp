#include "deepgen/data/dataset.h"
#include "deepgen/core/batch_shard.h"

#include <tuple>
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "deepgen/core/error.h"
#include "deepgen/core/limits.h"
#include "deepgen/data/idx.h"
#include "deepgen/data/image_folder.h"

namespace deepgen {
namespace fs = std::filesystem;

const OptionSchema<DataOptions>& data_options() {
  static const auto schema = OptionSchema<DataOptions>()
      .text("dir", &DataOptions::dir, "MNIST-style IDX folder or image folder; models that train on patches: a folder of natural images of any size")
      .with([](OptionField& f) { f.flag = "--data"; })
      .number("image_size", &DataOptions::image_size, "Resize images to this side (0 = native)")
      .number("channels", &DataOptions::channels, "1 gray or 3 RGB (0 = as the data is)", 0, 3)
      .number("train_limit", &DataOptions::train_limit, "Use only the first N training images (0 = all)")
      .number("test_limit", &DataOptions::test_limit, "Use only the first N test images (0 = all)")
      .text("text", &DataOptions::text, "Text models: the text to read (default: Debian's fortunes)");
  return schema;
}
void to_json(nlohmann::json& j, const DataOptions& o) { j = data_options().to_json(o); }
void from_json(const nlohmann::json& j, DataOptions& o) { data_options().from_json(j, o, "data options"); }

torch::Tensor normalize_pixels(const torch::Tensor& pixels, PixelRange range) {
  auto unit = pixels.to(torch::kFloat).div_(255.0);
  return range == PixelRange::kUnit ? unit : unit.mul_(2.0).sub_(1.0);
}

torch::Tensor random_flip(const torch::Tensor& images) {
  auto flip = batch_rand({images.size(0), 1, 1, 1}, images.options()) < 0.5;  // (N, 1, 1, 1)
  return torch::where(flip, images.flip({3}), images);
}

torch::Tensor to_pixels(const torch::Tensor& images, PixelRange range) {
  auto unit = range == PixelRange::kUnit ? images : images.add(1.0).div(2.0);
  return unit.clamp(0.0, 1.0).mul(255.0).round().to(torch::kUInt8);
}

namespace {

// CIFAR-10's binary version: data_batch_1..5.bin and test_batch.bin, in DIR or DIR/cifar-10-batches-bin.
std::string find_cifar10(const std::string& dir) {
  for (const fs::path& candidate : {fs::path(dir), fs::path(dir) / "cifar-10-batches-bin"}) {
    if (fs::is_regular_file(candidate / "data_batch_1.bin")) return candidate.string();
  }
  return {};
}

torch::Tensor limit(const torch::Tensor& tensor, int64_t count) {
  return count > 0 && count < tensor.size(0) ? tensor.narrow(0, 0, count) : tensor;
}

// IDX images (N, H, W) -> (N, C, S, S) uint8 with the requested side and channels.
torch::Tensor shape_idx_images(const torch::Tensor& images, const std::string& path, int64_t size,
                               int64_t channels) {
  check(images.dim() == 3, "IDX file ", path, ": expected 3 dimensions (count, rows, columns), found ",
        images.dim());
  auto out = images.unsqueeze(1);  // (N, H, W) -> (N, 1, H, W)
  out = resize_images(out, size);
  if (channels == 3) out = out.expand({-1, 3, -1, -1}).contiguous();  // gray -> RGB
  return out;
}

torch::Tensor read_labels(const std::string& path, int64_t count, const std::string& images_path) {
  auto labels = read_idx(path);
  check(labels.dim() == 1, "IDX file ", path, ": expected 1 dimension (count) for labels, found ",
        labels.dim());
  check(labels.size(0) == count, "IDX file ", path, ": expected ", count, " labels (one per image in ",
        images_path, "), found ", labels.size(0));
  return labels.to(torch::kInt64);
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> read_cifar10(const std::string& path) {
  check(fs::is_regular_file(path), "CIFAR-10 folder: ", path, " is missing (expected data_batch_1..5.bin and test_batch.bin)");
  constexpr int64_t kRecord = 1 + 3 * 32 * 32;
  const auto size = int64_t(fs::file_size(path));
  check(size > 0 && size % kRecord == 0, "CIFAR-10 file ", path, ": expected a multiple of ", kRecord,
        " bytes (label + 32x32x3 pixels per image), found ", size, " bytes");
  check(size <= limit_value(kMaxDataBytes), "CIFAR-10 file ", path, ": ", size, " bytes, above the limit (",
        limit_hint(kMaxDataBytes), ")");
  auto bytes = torch::empty({size / kRecord, kRecord}, torch::kUInt8);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(bytes.data_ptr<uint8_t>()), size);
  check(bool(in), "cannot read CIFAR-10 file ", path);
  auto labels = bytes.select(1, 0).to(torch::kInt64);
  check(labels.max().item<int64_t>() <= 9, "CIFAR-10 file ", path, ": expected labels 0-9, found ", labels.max().item<int64_t>());
  auto images = bytes.narrow(1, 1, kRecord - 1).reshape({-1, 3, 32, 32}).contiguous();  // (N, 3072) -> (N, 3, 32, 32)
  return {images, labels};
}

std::pair<std::vector<std::string>, std::vector<std::string>> split_every_tenth(const std::vector<std::string>& items) {
  std::vector<std::string> train, test;
  for (size_t i = 0; i < items.size(); ++i) (is_test_item(i) ? test : train).push_back(items[i]);
  if (test.empty() && !train.empty()) {  // fewer than 10 items: the last one is the test split
    test.push_back(train.back());
    train.pop_back();
  }
  return {train, test};
}

DataSplits load_data(const DataOptions& options, PixelRange range, torch::Device device) {
  check(fs::is_directory(options.dir), "--data: folder ", options.dir,
        " does not exist; give an MNIST-style folder (e.g. /usr/share/datasets/fashion-mnist, from the ",
        "dataset-fashion-mnist package) or a folder of images");
  check(options.channels == 0 || options.channels == 1 || options.channels == 3,
        "--channels: expected 1 (gray) or 3 (RGB), found ", options.channels);
  check(options.image_size >= 0 && options.image_size <= 1024, "--image-size: expected 1 to 1024 pixels, found ",
        options.image_size);
  check(options.train_limit >= 0 && options.test_limit >= 0, "--train-limit/--test-limit must not be negative");
  DataSplits splits;
  torch::Tensor train_pixels, test_pixels;
  if (const std::string cifar = find_cifar10(options.dir); !cifar.empty()) {
    splits.format = "cifar10";
    std::vector<torch::Tensor> train_images, train_labels;
    for (int i = 1; i <= 5; ++i) {
      auto [images, labels] = read_cifar10((fs::path(cifar) / ("data_batch_" + std::to_string(i) + ".bin")).string());
      train_images.push_back(images);
      train_labels.push_back(labels);
    }
    auto [test_images, test_labels] = read_cifar10((fs::path(cifar) / "test_batch.bin").string());
    splits.image_size = options.image_size ? options.image_size : 32;
    splits.channels = options.channels ? options.channels : 3;
    train_pixels = resize_images(limit(torch::cat(train_images), options.train_limit), splits.image_size);
    test_pixels = resize_images(limit(test_images, options.test_limit), splits.image_size);
    if (splits.channels == 1) {  // RGB -> gray with the ITU-R 601 weights
      auto to_gray = [](const torch::Tensor& rgb) {
        auto weights = torch::tensor({0.299f, 0.587f, 0.114f}).view({1, 3, 1, 1});
        return (rgb.to(torch::kFloat) * weights).sum(1, true).round().clamp(0, 255).to(torch::kUInt8);
      };
      train_pixels = to_gray(train_pixels);
      test_pixels = to_gray(test_pixels);
    }
    splits.train.labels = torch::cat(train_labels);
    splits.test.labels = test_labels;
    splits.class_names = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  } else if (looks_like_idx_folder(options.dir)) {
    const IdxFiles files = find_idx_files(options.dir);
    splits.format = "idx";
    auto train_raw = read_idx(files.train_images);
    auto test_raw = read_idx(files.test_images);
    check(train_raw.dim() == 3 && test_raw.dim() == 3 && train_raw.size(1) == test_raw.size(1) &&
              train_raw.size(2) == test_raw.size(2),
          "IDX files ", files.train_images, " and ", files.test_images,
          ": expected images of one size in both splits, found ", train_raw.sizes(), " and ", test_raw.sizes());
    splits.image_size = options.image_size ? options.image_size : train_raw.size(1);
    splits.channels = options.channels ? options.channels : 1;
    splits.train.labels = read_labels(files.train_labels, train_raw.size(0), files.train_images);
    splits.test.labels = read_labels(files.test_labels, test_raw.size(0), files.test_images);
    train_raw = limit(train_raw, options.train_limit);
    test_raw = limit(test_raw, options.test_limit);
    train_pixels = shape_idx_images(train_raw, files.train_images, splits.image_size, splits.channels);
    test_pixels = shape_idx_images(test_raw, files.test_images, splits.image_size, splits.channels);
    std::string lower = options.dir;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower.find("fashion") != std::string::npos) {
      splits.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                            "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    } else {
      const int64_t classes = std::max(splits.train.labels.max().item<int64_t>(), splits.test.labels.max().item<int64_t>()) + 1;
      for (int64_t i = 0; i < classes; ++i) splits.class_names.push_back(std::to_string(i));
    }
  } else {
    splits.format = "image-folder";
    splits.image_size = options.image_size ? options.image_size : 64;
    const fs::path root(options.dir);
    std::vector<std::string> train_files, test_files;
    std::string train_root = options.dir, test_root = options.dir;
    if (fs::is_directory(root / "train") && fs::is_directory(root / "test")) {
      train_root = (root / "train").string();
      test_root = (root / "test").string();
      train_files = list_images(train_root);
      test_files = list_images(test_root);
    } else {
      const auto files = list_images(options.dir);
      check(files.size() >= 2, "--data: folder ", options.dir,
            " is neither an MNIST-style folder (no train-images-idx3-ubyte[.gz]) nor a folder with at ",
            "least 2 images (found ", files.size(), ")");
      std::tie(train_files, test_files) = split_every_tenth(files);
    }
    if (options.train_limit > 0 && int64_t(train_files.size()) > options.train_limit) train_files.resize(options.train_limit);
    if (options.test_limit > 0 && int64_t(test_files.size()) > options.test_limit) test_files.resize(options.test_limit);
    // Channels must agree between the splits: decide on the training images.
    ImageSet train = load_image_set(train_files, train_root, splits.image_size, int(options.channels));
    splits.channels = train.images.size(1);
    ImageSet test = load_image_set(test_files, test_root, splits.image_size, int(splits.channels));
    train_pixels = train.images;
    test_pixels = test.images;
    splits.train.labels = train.labels;
    splits.test.labels = test.labels;
    splits.class_names = train.class_names;
  }
  splits.train.labels = limit(splits.train.labels, options.train_limit).to(device);
  splits.test.labels = limit(splits.test.labels, options.test_limit).to(device);
  splits.train.images = normalize_pixels(train_pixels.to(device), range);
  splits.test.images = normalize_pixels(test_pixels.to(device), range);
  return splits;
}

}  // namespace deepgen
