// Training data held in memory as one tensor per split, normalized once and kept on the training
// device, so a batch is an index_select and never a copy from host memory.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "deepgen/core/options.h"

namespace deepgen {

enum class PixelRange { kUnit, kSymmetric };  // [0, 1] (BCE decoders) or [-1, 1] (tanh generators)

struct DataOptions {
  std::string dir = "/usr/share/datasets/fashion-mnist";  // MNIST-style IDX folder or image folder
  int64_t image_size = 0;   // side in pixels; 0 = native (28 for IDX, 64 for image folders)
  int64_t channels = 0;     // 1 gray, 3 RGB; 0 = as the data is
  int64_t train_limit = 0;  // use only the first N training images (0 = all); for quick runs
  int64_t test_limit = 0;   // likewise for the test split
  std::string text;         // sequence models: a UTF-8 file (charlm) or a folder of fortune files
                            // (seqclass); "" = Debian's fortunes
};
void to_json(nlohmann::json& j, const DataOptions& o);
void from_json(const nlohmann::json& j, DataOptions& o);
// The declarations of DataOptions (--data, --image-size, ...; --text is added by the text models).
const OptionSchema<DataOptions>& data_options();

struct Dataset {
  torch::Tensor images;  // (N, C, H, W) float, normalized
  torch::Tensor labels;  // (N) int64
  int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

struct DataSplits {
  Dataset train, test;
  std::string format;                    // "idx" or "image-folder"
  std::vector<std::string> class_names;
  int64_t channels = 0, image_size = 0;  // what was loaded, after defaults
  int64_t patch_size = 0;                // patches of natural images: their side
  std::string summary;                   // one line for people: source, format, sizes
};

// The fixed split of a collection that has no train/test division of its own: every 10th item (index 9,
// 19, ...) tests. Image folders and natural images (split_every_tenth) and fortunes use it.
inline bool is_test_item(size_t index) { return index % 10 == 9; }
// That split of `items` as (train, test); with fewer than 10 items the last one tests.
std::pair<std::vector<std::string>, std::vector<std::string>> split_every_tenth(const std::vector<std::string>& items);

// One CIFAR-10 binary batch (data_batch_1.bin...): records of 1 label byte + 3072 pixel bytes (R, G, B
// planes of 32x32). Returns images (N, 3, 32, 32) uint8 and labels (N) int64. Throws naming the file
// when its size is not a whole number of records or passes kMaxDataBytes, or a label is above 9.
std::pair<torch::Tensor, torch::Tensor> read_cifar10(const std::string& path);

// Loads `options.dir`: an MNIST-style folder (the four IDX files) or an image folder. An image folder
// with `train/` and `test/` sub-folders uses them; otherwise every 10th image in sorted order (index
// 9, 19, ...) is the test split. Throws naming the folder or file when the data cannot be used.
DataSplits load_data(const DataOptions& options, PixelRange range, torch::Device device);

// Training-time augmentation: each image (N, C, H, W) is mirrored left-right with probability 1/2,
// drawn from the global generator (so a resumed run draws the same flips).
torch::Tensor random_flip(const torch::Tensor& images);

// uint8 pixels -> float in the given range. (N, C, H, W) or (C, H, W).
torch::Tensor normalize_pixels(const torch::Tensor& pixels, PixelRange range);
// The inverse, for pictures: float in the range -> uint8, clamped.
torch::Tensor to_pixels(const torch::Tensor& images, PixelRange range);

}  // namespace deepgen
