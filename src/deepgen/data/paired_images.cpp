#include "deepgen/data/paired_images.h"

#include <filesystem>

#include "deepgen/core/error.h"
#include "deepgen/data/idx.h"
#include "deepgen/data/image_folder.h"
#include "deepgen/data/natural_images.h"

namespace deepgen {
namespace fs = std::filesystem;
namespace F = torch::nn::functional;

torch::Tensor luminance(const torch::Tensor& images) {
  check(images.dim() == 4 && images.size(1) == 3, "luminance: expected RGB images (N, 3, H, W), found ", images.sizes());
  auto weights = torch::tensor({0.299f, 0.587f, 0.114f}, images.options()).view({1, 3, 1, 1});
  return (images * weights).sum(1, /*keepdim=*/true);  // (N, 3, H, W) -> (N, 1, H, W)
}

torch::Tensor rgb_to_ycbcr(const torch::Tensor& rgb) {
  check(rgb.dim() == 4 && rgb.size(1) == 3, "rgb_to_ycbcr: expected (N, 3, H, W), found ", rgb.sizes());
  const auto y = luminance(rgb);                                      // (N, 1, H, W)
  const auto cb = (rgb.narrow(1, 2, 1) - y) * (0.5 / (1 - 0.114));     // (B - Y) / 1.772
  const auto cr = (rgb.narrow(1, 0, 1) - y) * (0.5 / (1 - 0.299));     // (R - Y) / 1.402
  return torch::cat({y, cb, cr}, 1);
}

torch::Tensor ycbcr_to_rgb(const torch::Tensor& ycbcr) {
  check(ycbcr.dim() == 4 && ycbcr.size(1) == 3, "ycbcr_to_rgb: expected (N, 3, H, W), found ", ycbcr.sizes());
  const auto y = ycbcr.narrow(1, 0, 1), cb = ycbcr.narrow(1, 1, 1), cr = ycbcr.narrow(1, 2, 1);
  const auto r = y + cr * (2 * (1 - 0.299));
  const auto b = y + cb * (2 * (1 - 0.114));
  const auto g = (y - 0.299 * r - 0.114 * b) / 0.587;
  return torch::cat({r, g, b}, 1);
}

torch::Tensor edge_map(const torch::Tensor& images, double low, double high) {
  check(images.dim() == 4 && (images.size(1) == 1 || images.size(1) == 3),
        "edge_map: expected (N, 1 or 3, H, W) images, found ", images.sizes());
  check(0 <= low && low <= high, "edge_map: expected 0 <= low <= high, found ", low, " and ", high);
  const auto gray = images.size(1) == 3 ? luminance(images) : images;
  auto sobel_x = torch::tensor({-1.f, 0.f, 1.f, -2.f, 0.f, 2.f, -1.f, 0.f, 1.f}, gray.options()).view({1, 1, 3, 3});
  auto sobel_y = sobel_x.transpose(2, 3).contiguous();
  auto padded = F::pad(gray, F::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReplicate));  // (N, 1, H+2, W+2)
  auto magnitude = (F::conv2d(padded, sobel_x).pow(2) + F::conv2d(padded, sobel_y).pow(2)).sqrt();  // (N, 1, H, W)
  magnitude = magnitude / magnitude.amax({1, 2, 3}, /*keepdim=*/true).clamp_min(1e-12);
  const auto weak = magnitude >= low;
  auto edges = magnitude >= high;
  // Hysteresis: grow the strong edges into 8-connected weak pixels until nothing changes.
  const auto grow = F::MaxPool2dFuncOptions(3).stride(1).padding(1);
  while (true) {
    auto grown = (F::max_pool2d(edges.to(gray.scalar_type()), grow) > 0).logical_and(weak).logical_or(edges);
    if (torch::equal(grown, edges)) break;
    edges = grown;
  }
  return 1 - edges.to(gray.scalar_type());
}

namespace {

int64_t power_of_two_at_least(int64_t side) {
  int64_t power = 1;
  while (power < side) power *= 2;
  return power;
}

// The test split of a layout: test/, else val/ (edges2shoes and maps ship train/ and val/ only).
fs::path test_folder(const fs::path& root, const std::string& what) {
  if (fs::is_directory(root / "test")) return root / "test";
  check(fs::is_directory(root / "val"), what, ": ", (root / "test").string(), " (or val/) does not exist; expected ",
        "train/ and test/ sub-folders");
  return root / "val";
}

std::vector<std::string> images_in(const fs::path& folder, const std::string& what) {
  check(fs::is_directory(folder), what, ": ", folder.string(), " does not exist or is not a folder");
  auto files = list_images(folder.string());
  check(!files.empty(), what, ": ", folder.string(), " holds no images (expected .png, .jpg, .bmp, .gif, .tga or .pnm)");
  return files;
}

// 1 when every file is gray, else 3; or what --channels says.
int channels_of(const std::vector<std::string>& files, int64_t wanted) {
  if (wanted != 0) return int(wanted);
  for (const auto& file : files) {
    if (image_info(file).channels > 2) return 3;
  }
  return 1;
}

std::vector<std::string> limited(std::vector<std::string> files, int64_t limit) {
  if (limit > 0 && int64_t(files.size()) > limit) files.resize(limit);
  return files;
}

// Side-by-side files -> (N, 2C, S, S) uint8 pairs, the input half first.
torch::Tensor read_side_by_side(const std::vector<std::string>& files, int64_t size, int channels, bool a2b) {
  std::vector<torch::Tensor> pairs;
  for (const auto& file : files) {
    auto image = load_image(file, channels);  // (C, H, W)
    const int64_t height = image.size(1), width = image.size(2);
    check(width % 2 == 0, "paired image ", file, ": A and B side by side need an even width, found ", width, "x",
          height, " (--pairs side-by-side)");
    auto left = square_resize(image.narrow(2, 0, width / 2), size);
    auto right = square_resize(image.narrow(2, width / 2, width / 2), size);
    pairs.push_back(a2b ? torch::cat({left, right}) : torch::cat({right, left}));  // (2C, S, S)
  }
  return torch::stack(pairs);
}

// A folder's images and their counterparts under `other` (same relative names) -> two (N, C, S, S) uint8.
std::pair<torch::Tensor, torch::Tensor> read_matching(const fs::path& a_dir, const fs::path& b_dir, int64_t size,
                                                      int64_t channels, int64_t limit) {
  const auto a_files = limited(images_in(a_dir, "--pairs folders"), limit);
  std::vector<std::string> b_files;
  for (const auto& file : a_files) {
    const fs::path counterpart = b_dir / fs::relative(file, a_dir);
    check(fs::is_regular_file(counterpart), "--pairs folders: ", file, " has no counterpart ", counterpart.string(),
          "; expected A and B images with matching file names");
    b_files.push_back(counterpart.string());
  }
  auto read = [size](const std::vector<std::string>& files, int c) {
    std::vector<torch::Tensor> images;
    for (const auto& file : files) images.push_back(square_resize(load_image(file, c), size));
    return torch::stack(images);
  };
  return {read(a_files, channels_of(a_files, channels)), read(b_files, channels_of(b_files, channels))};
}

Dataset as_dataset(const torch::Tensor& pixels, PixelRange range, torch::Device device) {
  return {normalize_pixels(pixels.to(device), range), torch::zeros({pixels.size(0)}, torch::kLong).to(device)};
}

int64_t first_side(const std::vector<std::string>& files, int64_t image_size) {
  if (image_size > 0) return image_size;
  return std::min<int64_t>(256, std::max<int64_t>(32, power_of_two_at_least(image_info(files.front()).height)));
}

}  // namespace

PairedSplits load_pairs(const DataOptions& data, const PairRequest& request, PixelRange range, torch::Device device) {
  check(request.direction == "a2b" || request.direction == "b2a", "--direction: expected a2b or b2a, found '",
        request.direction, "'");
  check(fs::is_directory(data.dir), "--data: folder ", data.dir, " does not exist (--pairs ", request.pairs, ")");
  const bool a2b = request.direction == "a2b";
  const fs::path root(data.dir);
  PairedSplits out;
  DataSplits& splits = out.splits;
  if (request.pairs == "side-by-side") {
    const std::string what = "--pairs side-by-side " + data.dir;
    const auto train = limited(images_in(root / "train", what), data.train_limit);
    const auto test = limited(images_in(test_folder(root, what), what), data.test_limit);
    const int channels = channels_of(train, data.channels);
    splits.image_size = first_side(train, data.image_size);
    splits.train = as_dataset(read_side_by_side(train, splits.image_size, channels, a2b), range, device);
    splits.test = as_dataset(read_side_by_side(test, splits.image_size, channels, a2b), range, device);
    out.input_channels = out.output_channels = channels;
    splits.format = "side-by-side pairs";
  } else if (request.pairs == "folders") {
    const std::string what = "--pairs folders " + data.dir;
    check(fs::is_directory(root / "A") && fs::is_directory(root / "B"), what, ": expected sub-folders A/ and B/, each ",
          "with train/ and test/ (matching file names)");
    const auto train_a = images_in(root / "A" / "train", what);
    splits.image_size = first_side(train_a, data.image_size);
    auto [a_train, b_train] = read_matching(root / "A" / "train", root / "B" / "train", splits.image_size,
                                            data.channels, data.train_limit);
    const fs::path a_test = test_folder(root / "A", what);
    auto [a_test_images, b_test_images] = read_matching(a_test, root / "B" / a_test.filename(), splits.image_size,
                                                        data.channels, data.test_limit);
    check(a_train.size(1) == a_test_images.size(1) && b_train.size(1) == b_test_images.size(1), what,
          ": the train and test images differ in channels (gray vs colour); give --channels");
    auto pair = [a2b](const torch::Tensor& a, const torch::Tensor& b) { return a2b ? torch::cat({a, b}, 1) : torch::cat({b, a}, 1); };
    splits.train = as_dataset(pair(a_train, b_train), range, device);
    splits.test = as_dataset(pair(a_test_images, b_test_images), range, device);
    out.input_channels = (a2b ? a_train : b_train).size(1);
    out.output_channels = (a2b ? b_train : a_train).size(1);
    splits.format = "paired folders";
  } else {
    check(request.pairs == "edges" || request.pairs == "gray", "--pairs: expected side-by-side, folders, edges or gray, found '",
          request.pairs, "'");
    check(request.direction == "a2b", "--direction b2a: --pairs ", request.pairs, " derives the input from the image, ",
          "so only a2b (", request.pairs, " -> image) exists");
    if (request.pairs == "edges") {
      DataOptions source = data;
      if (source.image_size == 0) source.image_size = looks_like_idx_folder(data.dir) ? 32 : 64;
      splits = load_data(source, PixelRange::kUnit, device);
    } else {
      check(!looks_like_idx_folder(data.dir), "--pairs gray: needs colour photographs, found an IDX folder ", data.dir,
            " (gray images); give --data a folder of colour images");
      PatchOptions patches;
      patches.patch_size = data.image_size > 0 ? data.image_size : 64;
      if (data.train_limit > 0) patches.patches = data.train_limit;
      if (data.test_limit > 0) patches.test_patches = data.test_limit;
      const NaturalImages photographs = colour_only(load_natural_images(data.dir, 3), data.dir);
      splits = natural_patch_splits(photographs, patches, device, request.seed);
      splits.format = "crops of " + std::to_string(photographs.train.images.size()) + " train / " +
                      std::to_string(photographs.test.images.size()) + " test photographs";
    }
    for (Dataset* split : {&splits.train, &splits.test}) {
      auto input = request.pairs == "edges" ? edge_map(split->images) : luminance(split->images);
      auto pair = torch::cat({input, split->images}, 1);  // (N, 1 + C, S, S)
      split->images = range == PixelRange::kUnit ? pair : pair * 2 - 1;
    }
    out.input_channels = 1;
    out.output_channels = splits.channels;
    splits.format += request.pairs == "edges" ? ", edge maps -> images" : ", luminance -> colour";
  }
  splits.channels = out.input_channels + out.output_channels;
  return out;
}


namespace {

// The side of an unpaired folder's images: --image-size, else the first image's height rounded up to a
// multiple of 4 (the ResNet generator halves it twice), at most 256.
int64_t unpaired_side(const std::vector<std::string>& files, int64_t image_size) {
  if (image_size > 0) return image_size;
  const int64_t height = image_info(files.front()).height;
  return std::min<int64_t>(256, std::max<int64_t>(8, (height + 3) / 4 * 4));
}

torch::Tensor read_images(const std::vector<std::string>& files, int64_t size, int channels) {
  std::vector<torch::Tensor> images;
  for (const auto& file : files) images.push_back(square_resize(load_image(file, channels), size));
  return torch::stack(images);  // (N, C, S, S) uint8
}

// Indices into a domain of `count` images for `total` examples: in order, or (`seed` given) through
// seeded random permutations one after the other, so each image comes once before any comes twice.
torch::Tensor repeated(int64_t count, int64_t total, const uint64_t* seed) {
  if (seed == nullptr || count == total) return torch::arange(total, torch::kLong) % count;
  auto generator = at::detail::createCPUGenerator(*seed);
  std::vector<torch::Tensor> parts;
  for (int64_t have = 0; have < total; have += count) parts.push_back(torch::randperm(count, generator, torch::kLong));
  return torch::cat(parts).narrow(0, 0, total);
}

// Two domains (uint8 or float, same side) -> max(|A|, |B|) examples A | B; labels: bit 0 when the A half is
// a first occurrence, bit 1 when the B half is.
Dataset side_by_side(const torch::Tensor& a, const torch::Tensor& b, const uint64_t* seed) {
  const int64_t total = std::max(a.size(0), b.size(0));
  const auto ia = repeated(a.size(0), total, a.size(0) < total ? seed : nullptr);
  const auto ib = repeated(b.size(0), total, b.size(0) < total ? seed : nullptr);
  const auto first = torch::arange(total, torch::kLong);
  const auto labels = (first < a.size(0)).to(torch::kLong) + 2 * (first < b.size(0)).to(torch::kLong);
  return {torch::cat({a.index_select(0, ia), b.index_select(0, ib)}, 1), labels};
}

torch::Tensor capped(const torch::Tensor& images, int64_t limit) {
  return limit > 0 && images.size(0) > limit ? images.narrow(0, 0, limit) : images;
}

}  // namespace

UnpairedSplits load_unpaired(const DataOptions& data, const UnpairedRequest& request, PixelRange range,
                             torch::Device device) {
  check(fs::is_directory(data.dir), "--data: folder ", data.dir, " does not exist (--domains ", request.domains, ")");
  UnpairedSplits out;
  DataSplits& splits = out.splits;
  torch::Tensor train_a, train_b, test_a, test_b;  // (N, C, S, S) in `range`
  const auto check_side = [](int64_t side) {
    check(side % 4 == 0 && side >= 8, "--image-size: unpaired translation needs a side that is a multiple of 4 and ",
          "at least 8 (the generator halves it twice), found ", side);
  };
  if (request.domains == "folders") {
    const fs::path root(data.dir);
    const std::string what = "--domains folders " + data.dir;
    for (const char* sub : {"trainA", "trainB", "testA", "testB"}) {
      check(fs::is_directory(root / sub), what, ": ", (root / sub).string(), " does not exist; expected CycleGAN's ",
            "layout trainA/, trainB/, testA/, testB/");
    }
    const auto files_train_a = limited(images_in(root / "trainA", what), data.train_limit);
    const auto files_train_b = limited(images_in(root / "trainB", what), data.train_limit);
    const auto files_test_a = limited(images_in(root / "testA", what), data.test_limit);
    const auto files_test_b = limited(images_in(root / "testB", what), data.test_limit);
    const int64_t side = unpaired_side(files_train_a, data.image_size);
    check_side(side);  // before the images are read
    const int channels_a = channels_of(files_train_a, data.channels), channels_b = channels_of(files_train_b, data.channels);
    auto read = [&](const std::vector<std::string>& files, int channels) {
      return normalize_pixels(read_images(files, side, channels), range);
    };
    train_a = read(files_train_a, channels_a);
    train_b = read(files_train_b, channels_b);
    test_a = read(files_test_a, channels_a);
    test_b = read(files_test_b, channels_b);
    splits.image_size = side;
    splits.format = "unpaired folders trainA/trainB";
  } else {
    check(request.domains == "classes", "--domains: expected classes or folders, found '", request.domains, "'");
    DataOptions source = data;
    source.train_limit = source.test_limit = 0;  // the limits cap each domain, after the classes are picked
    DataSplits labelled = load_data(source, range, torch::kCPU);
    const auto classes = int64_t(labelled.class_names.size());
    for (const auto& [flag, value] : {std::pair<const char*, int64_t>{"--class-a", request.class_a}, {"--class-b", request.class_b}}) {
      check(value >= 0 && value < classes, flag, ": expected a class of ", data.dir, " from 0 to ", classes - 1,
            ", found ", value);
    }
    check(request.class_a != request.class_b, "--class-a and --class-b: expected two different classes, found ",
          request.class_a, " for both");
    auto of_class = [&](const Dataset& split, int64_t label, int64_t limit, const char* which) {
      const auto index = (split.labels == label).nonzero().flatten();
      check(index.numel() > 0, "--data ", data.dir, ": its ", which, " split has no images of class ", label);
      return capped(split.images.index_select(0, index), limit);
    };
    train_a = of_class(labelled.train, request.class_a, data.train_limit, "train");
    train_b = of_class(labelled.train, request.class_b, data.train_limit, "train");
    test_a = of_class(labelled.test, request.class_a, data.test_limit, "test");
    test_b = of_class(labelled.test, request.class_b, data.test_limit, "test");
    splits.image_size = labelled.image_size;
    splits.class_names = labelled.class_names;
    auto name = [&](int64_t label) {
      const std::string& text = labelled.class_names[size_t(label)];
      return text.empty() ? std::to_string(label) : std::to_string(label) + " " + text;
    };
    splits.format = labelled.format + ", class " + name(request.class_a) + " <-> class " + name(request.class_b);
  }
  check_side(splits.image_size);
  out.channels_a = train_a.size(1);
  out.channels_b = train_b.size(1);
  check(test_a.size(1) == out.channels_a && test_b.size(1) == out.channels_b, "--data ", data.dir,
        ": the train and test images of a domain differ in channels (gray vs colour); give --channels");
  out.train_a = train_a.size(0), out.train_b = train_b.size(0), out.test_a = test_a.size(0), out.test_b = test_b.size(0);
  splits.train = side_by_side(train_a, train_b, &request.seed);
  splits.test = side_by_side(test_a, test_b, nullptr);
  for (Dataset* split : {&splits.train, &splits.test}) {
    split->images = split->images.to(device);
    split->labels = split->labels.to(device);
  }
  splits.channels = out.channels_a + out.channels_b;
  return out;
}

torch::Tensor domain_images(const Dataset& test, const std::string& domain, int64_t channels_a) {
  check(domain == "a" || domain == "b", "domain_images: expected domain a or b, found '", domain, "'");
  const int64_t bit = domain == "a" ? 1 : 2;
  const auto index = test.labels.bitwise_and(bit).nonzero().flatten();
  const auto halves = domain == "a" ? test.images.narrow(1, 0, channels_a)
                                    : test.images.narrow(1, channels_a, test.images.size(1) - channels_a);
  return halves.index_select(0, index);
}

}  // namespace deepgen
