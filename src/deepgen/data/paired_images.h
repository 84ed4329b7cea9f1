// Image pairs for paired image-to-image translation (pix2pix, Isola et al. 2017): the layouts users
// bring data in (pix2pix's side-by-side files, two folders with matching names) and pairs derived
// offline from one image set (edge maps -> images, luminance -> colour).
//
// A pair is held as one tensor: the input's channels, then the target's, (N, Cin + Cout, S, S), so
// the trainer batches, shuffles and flips (--augment flip) input and target together.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "deepgen/data/dataset.h"

namespace deepgen {

// Where pairs come from (--pairs):
//   side-by-side  DIR/{train,test}/*.jpg, each file A | B side by side (facades, edges2shoes, maps...);
//                 test/ may be val/ (edges2shoes has no test/). --direction a2b: left is the input.
//   folders       DIR/A/{train,test}/NAME and DIR/B/{train,test}/NAME with matching file names.
//   edges         any image data (--data: IDX, image folder): input = its edge map (Sobel + hysteresis,
//                 edge_map below), target = the image.
//   gray          colour photographs of any size (natural_images.h, gray ones left out, as colorize
//                 trains on): random square crops
//                 of side --image-size (default 64), --train-limit of them (default 20000) from the train
//                 images and --test-limit (default 256) from the test images; input = the crop's
//                 luminance (ITU-R 601), target = the crop.
struct PairRequest {
  std::string pairs = "edges";
  std::string direction = "a2b";  // a2b or b2a: which side of a stored pair is the input
  uint64_t seed = 1;              // gray: the crops' positions (the run's seed)
};

struct PairedSplits {
  DataSplits splits;  // images (N, Cin + Cout, S, S) in the given range; labels from the source (0 for layouts)
  int64_t input_channels = 0, output_channels = 0;
};

// Reads pairs as `request` says. `data.image_size` 0 picks the native side rounded up to a power of two
// (28 -> 32, 256 -> 256). Throws one line naming the folder or file, what was expected and found.
PairedSplits load_pairs(const DataOptions& data, const PairRequest& request, PixelRange range, torch::Device device);

// Edge maps of images (N, C, H, W) in [0, 1] -> (N, 1, H, W) in {0, 1}, black edges on white (as the
// edges of edges2shoes): the gradient magnitude of 3x3 Sobel filters on the luminance, normalized by each
// image's largest, then hysteresis: pixels above `high` are edges, and pixels above `low` joined to an
// edge through 8-neighbours above `low` are edges too. No non-maximum suppression (so not Canny).
torch::Tensor edge_map(const torch::Tensor& images, double low = 0.1, double high = 0.3);

// Unpaired image sets for unpaired translation (CycleGAN, Zhu et al. 2017): two domains A and B with no
// correspondence between their images. Held like pairs, one tensor (N, Ca + Cb, S, S) whose example i is
// an image of A beside an image of B, so the trainer batches and shuffles them as usual; the two halves
// are unrelated (every CycleGAN loss term is per domain, and its instance norm per image).
//   folders  CycleGAN's layout: DIR/trainA, DIR/trainB, DIR/testA, DIR/testB (images directly inside).
//   classes  two classes of labelled data (--data: IDX or an image folder with class sub-folders):
//            class_a is A, class_b is B (Fashion-MNIST: 7 sneakers <-> 9 ankle boots).
// A split holds max(|A|, |B|) examples. Train: the larger domain once in order, the smaller repeated
// through seeded random permutations (each of its images once before any twice). Test: both in order,
// the smaller one repeated from its start; the labels say which halves are first occurrences (bit 0: A's,
// bit 1: B's), so that each test image is scored once (domain_images). Limits (--train-limit,
// --test-limit) cap each domain.
struct UnpairedRequest {
  std::string domains = "classes";  // classes | folders
  int64_t class_a = 7, class_b = 9;
  uint64_t seed = 1;                // the pairing of the smaller training domain
};
struct UnpairedSplits {
  DataSplits splits;
  int64_t channels_a = 0, channels_b = 0;
  int64_t train_a = 0, train_b = 0, test_a = 0, test_b = 0;  // images of each domain
};
// Reads two domains as `request` says; `data.image_size` 0 keeps the native side (IDX: 28) or, for
// folders, the first train image's height, rounded up to a multiple of 4 (at most 256). Throws one
// line naming the folder, class or file, what was expected and what was found.
UnpairedSplits load_unpaired(const DataOptions& data, const UnpairedRequest& request, PixelRange range,
                             torch::Device device);
// The test images of one domain ("a" or "b") of an unpaired split, each once: (M, C, S, S), the split's
// range. `channels_a` splits an example into its halves.
torch::Tensor domain_images(const Dataset& test, const std::string& domain, int64_t channels_a);

// ITU-R 601 luminance of RGB images (N, 3, H, W) -> (N, 1, H, W), in the images' range.
torch::Tensor luminance(const torch::Tensor& images);

// RGB (N, 3, H, W) in [0, 1] <-> YCbCr (N, 3, H, W): Y in [0, 1], Cb and Cr in [-0.5, 0.5] (JPEG's).
torch::Tensor rgb_to_ycbcr(const torch::Tensor& rgb);
torch::Tensor ycbcr_to_rgb(const torch::Tensor& ycbcr);

}  // namespace deepgen
