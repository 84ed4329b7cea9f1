#include "deepgen/data/natural_images.h"
#include "deepgen/core/batch_shard.h"

#include <filesystem>

#include "deepgen/core/error.h"
#include "deepgen/data/image_folder.h"

namespace deepgen {
namespace fs = std::filesystem;

const OptionSchema<PatchOptions>& patch_options() {
  static const auto schema = OptionSchema<PatchOptions>()
      .number("patch_size", &PatchOptions::patch_size, "Side of the random training patches (0 = the model's default)")
      .positive("patches", &PatchOptions::patches, "Training patches, cropped at random once per run")
      .positive("test_patches", &PatchOptions::test_patches, "Patches of the test images for the per-epoch evaluation");
  return schema;
}
void to_json(nlohmann::json& j, const PatchOptions& o) { j = patch_options().to_json(o); }
void from_json(const nlohmann::json& j, PatchOptions& o) { patch_options().from_json(j, o, "patch options"); }

namespace {
ImageList load_files(const std::vector<std::string>& files, int64_t channels) {
  ImageList list;
  for (const auto& file : files) {
    list.images.push_back(load_image(file, int(channels)));
    list.names.push_back(fs::path(file).filename().string());
  }
  return list;
}
}  // namespace

ImageList load_image_list(const std::string& dir, int64_t channels) {
  check(channels == 1 || channels == 3, "--channels: expected 1 (gray) or 3 (RGB), found ", channels);
  check(fs::is_directory(dir), "--images: ", dir, " is not a folder (expected a folder of PNG/JPEG images)");
  const auto files = list_images(dir);
  check(!files.empty(), "--images: folder ", dir, " has no images (expected .png, .jpg, .bmp, .gif, .tga or .pnm files)");
  return load_files(files, channels);
}

NaturalImages colour_only(NaturalImages images, const std::string& dir) {
  for (ImageList* list : {&images.train, &images.test}) {
    ImageList kept;
    for (size_t i = 0; i < list->images.size(); ++i) {
      const auto& image = list->images[i];  // (3, H, W) uint8
      check(image.size(0) == 3, "colour images: expected RGB, found ", image.size(0), " channels in ", list->names[i]);
      if (image[0].equal(image[1]) && image[1].equal(image[2])) continue;
      kept.images.push_back(image);
      kept.names.push_back(list->names[i]);
    }
    check(!kept.images.empty(), "--data: ", dir, " has no colour image in its ", list == &images.train ? "train" : "test",
          " split (", list->images.size(), " gray); colorization needs colour photographs");
    *list = std::move(kept);
  }
  images.split += ", gray images left out";
  return images;
}

NaturalImages load_natural_images(const std::string& dir_or_empty, int64_t channels) {
  check(channels == 1 || channels == 3, "--channels: expected 1 (gray) or 3 (RGB), found ", channels);
  const std::string dir = dir_or_empty.empty() ? kDefaultNaturalImages : dir_or_empty;
  check(fs::is_directory(dir), "--data: ", dir, " is not a folder",
        dir == kDefaultNaturalImages ? "; run `make images` in the repository to extract the default natural images"
                                     : " (expected a folder of PNG/JPEG images)");
  NaturalImages out;
  const fs::path root(dir);
  if (fs::is_directory(root / "train") && fs::is_directory(root / "test")) {
    out.train = load_files(list_images((root / "train").string()), channels);
    out.test = load_files(list_images((root / "test").string()), channels);
    out.split = "train/ and test/ sub-folders";
  } else {
    const auto files = list_images(dir);
    check(files.size() >= 2, "--data: folder ", dir, " needs at least 2 images (one to train on, one to test), found ",
          files.size());
    const auto [train, test] = split_every_tenth(files);
    out.train = load_files(train, channels);
    out.test = load_files(test, channels);
    out.split = "every 10th image tests";
  }
  check(!out.train.images.empty() && !out.test.images.empty(), "--data: ", dir,
        " needs images in both train/ and test/ (found ", out.train.images.size(), " and ", out.test.images.size(), ")");
  return out;
}

torch::Tensor random_patches(const ImageList& list, int64_t size, int64_t count, uint64_t seed) {
  check(!list.images.empty(), "patches: no images to crop from");
  std::vector<double> areas;
  for (size_t i = 0; i < list.images.size(); ++i) {
    const auto& image = list.images[i];
    check(image.size(1) >= size && image.size(2) >= size, "patches: image ", list.names[i], " is ", image.size(2),
          "x", image.size(1), ", smaller than the ", size, "x", size, " patches; use a smaller --patch-size");
    areas.push_back(double(image.size(1) * image.size(2)));
  }
  auto generator = at::detail::createCPUGenerator(seed);
  // The image of each patch, in proportion to area, then uniform offsets inside it.
  auto which = torch::multinomial(torch::tensor(areas, torch::kDouble), count, /*replacement=*/true, generator);
  auto u = torch::rand({count, 2}, generator, torch::kDouble);
  const auto which_a = which.accessor<int64_t, 1>();
  const auto u_a = u.accessor<double, 2>();
  std::vector<torch::Tensor> patches;
  patches.reserve(size_t(count));
  for (int64_t n = 0; n < count; ++n) {
    const auto& image = list.images[size_t(which_a[n])];
    const auto top = int64_t(u_a[n][0] * double(image.size(1) - size + 1));
    const auto left = int64_t(u_a[n][1] * double(image.size(2) - size + 1));
    patches.push_back(image.narrow(1, top, size).narrow(2, left, size));
  }
  return torch::stack(patches);  // count x (C, S, S) -> (count, C, S, S)
}

DataSplits natural_patch_splits(const NaturalImages& images, const PatchOptions& options, torch::Device device,
                                uint64_t seed) {
  check(options.patch_size >= 8, "--patch-size: expected at least 8 pixels, found ", options.patch_size);
  check(options.patches >= 1, "--patches: expected a positive count, found ", options.patches);
  check(options.test_patches >= 1, "--test-patches: expected a positive count, found ", options.test_patches);
  DataSplits splits;
  splits.format = "patches";
  splits.channels = images.train.images.front().size(0);
  splits.image_size = options.patch_size;
  splits.class_names = {""};
  auto train = random_patches(images.train, options.patch_size, options.patches, seed);
  auto test = random_patches(images.test, options.patch_size, options.test_patches, seed + 7919);
  splits.train.images = normalize_pixels(train.to(device), PixelRange::kUnit);
  splits.train.labels = torch::zeros({options.patches}, torch::TensorOptions(torch::kInt64).device(device));
  splits.test.images = normalize_pixels(test.to(device), PixelRange::kUnit);
  splits.test.labels = torch::zeros({options.test_patches}, torch::TensorOptions(torch::kInt64).device(device));
  return splits;
}

torch::Tensor random_dihedral(const torch::Tensor& patches) {
  check(patches.dim() == 4 && patches.size(2) == patches.size(3), "random_dihedral: expected square patches (N, C, S, S), found ",
        patches.sizes());
  // Three independent coin flips (mirror rows, mirror columns, transpose) reach all 8 symmetries.
  auto coins = (batch_rand({patches.size(0), 3}, patches.options()) < 0.5).t().reshape({3, -1, 1, 1, 1});  // (3, N, 1, 1, 1)
  auto out = torch::where(coins[0], patches.flip({2}), patches);
  out = torch::where(coins[1], out.flip({3}), out);
  return torch::where(coins[2], out.transpose(2, 3), out);
}

}  // namespace deepgen
