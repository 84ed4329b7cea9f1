// Whole-image translation with a trained translation model (pix2pix, and any other Translator): images
// of any size, cut into tiles (restoration.h's tiled_apply) when they are too large for one piece.
#pragma once

#include <torch/torch.h>

#include <string>

#include "deepgen/apps/restoration.h"
#include "deepgen/models/family.h"

namespace deepgen {

// Translates `image` (C, H, W) in [0, 1] in `direction`; C must be the model's input channels. A tile
// margin of -1 takes the model's tile_margin(). Returns (C', H, W) in [0, 1] on the CPU.
torch::Tensor translate_image(Translator& model, const torch::Tensor& image, const std::string& direction,
                              const TileOptions& tiles);

}  // namespace deepgen
