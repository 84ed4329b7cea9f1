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

// ITU-R 601 luminance of RGB images (N, 3, H, W) -> (N, 1, H, W), in the images' range.
torch::Tensor luminance(const torch::Tensor& images);

}  // namespace deepgen
