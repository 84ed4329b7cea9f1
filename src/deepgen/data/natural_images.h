// Natural images of any size, for the restoration models (DnCNN, super-resolution, inpainting AE):
// whole images for evaluation and random square patches for training.
//
// The default set is the classic test images that ship with scikit-image (Debian's python3-skimage),
// extracted by `make images` into data/natural/{train,test} without installing the package; any folder
// of PNG/JPEG images works. A folder with train/ and test/ sub-folders uses them; otherwise every 10th
// image in sorted order is the test split (the rule of the image-folder loader).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "deepgen/core/options.h"
#include "deepgen/data/dataset.h"

namespace deepgen {

// Where `make images` puts the default set (relative to the directory deepgen runs in).
constexpr const char* kDefaultNaturalImages = "data/natural";

struct ImageList {
  std::vector<torch::Tensor> images;  // each (C, H, W) uint8; sizes differ
  std::vector<std::string> names;     // file names, for tables
};

struct NaturalImages {
  ImageList train, test;
  std::string split;  // how the split was made, for logs and docs
};

// Every image under `dir` (sorted, one level of sub-folders), as gray (channels 1) or RGB (3).
// Throws naming the folder when it has no images, and the file when one cannot be decoded.
ImageList load_image_list(const std::string& dir, int64_t channels);

// The train/test split of `dir`. An empty `dir` means kDefaultNaturalImages, and its absence gets an
// error that says to run `make images`.
NaturalImages load_natural_images(const std::string& dir, int64_t channels);

// `images` (RGB) without the gray ones (every pixel R = G = B), for colorization: they teach and test
// nothing about colour (8 of the default set's 15 train and 2 of its 4 test images are gray). Throws
// naming `dir` when a split has no colour image left.
NaturalImages colour_only(NaturalImages images, const std::string& dir);

struct PatchOptions {
  int64_t patch_size = 0;     // side of the square training patches (0 = the model's default)
  int64_t patches = 20000;    // training patches, cropped at random positions once per run
  int64_t test_patches = 256; // patches of the test images for the per-epoch evaluation
};
void to_json(nlohmann::json& j, const PatchOptions& o);
void from_json(const nlohmann::json& j, PatchOptions& o);
const OptionSchema<PatchOptions>& patch_options();

// `count` random size x size crops, (count, C, size, size) uint8. Each crop picks an image with
// probability proportional to its area, then a uniform position, from a generator seeded with `seed`.
torch::Tensor random_patches(const ImageList& list, int64_t size, int64_t count, uint64_t seed);

// Training data for a restoration model: random patches of the train images (train split) and of the
// test images (test split, a different seed), normalized to [0, 1], labels all 0.
DataSplits natural_patch_splits(const NaturalImages& images, const PatchOptions& options, torch::Device device,
                                uint64_t seed);

// One of the 8 symmetries of the square (flips and 90-degree rotations) per patch, drawn from the
// global generator: (N, C, S, S) -> (N, C, S, S).
torch::Tensor random_dihedral(const torch::Tensor& patches);

}  // namespace deepgen
