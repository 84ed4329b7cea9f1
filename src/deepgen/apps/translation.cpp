#include "deepgen/apps/translation.h"

#include "deepgen/core/error.h"

namespace deepgen {

torch::Tensor translate_image(Translator& model, const torch::Tensor& image, const std::string& direction,
                              const TileOptions& tiles) {
  check(image.dim() == 3, "translate: expected one image (C, H, W), found ", image.sizes());
  const int64_t channels = model.input_channels(direction);
  check(image.size(0) == channels, "translate: the model's input has ", channels, " channels (--direction ", direction,
        "), the image has ", image.size(0));
  const auto batch = image.unsqueeze(0);  // (1, C, H, W)
  const int64_t tile = automatic_tile(batch.size(2), batch.size(3), tiles);
  const int64_t margin = tiles.margin >= 0 ? tiles.margin : model.tile_margin();
  auto out = tiled_apply([&](const torch::Tensor& piece) { return model.translate(piece, direction).cpu(); }, batch,
                         tile, margin);
  return out.squeeze(0);
}

}  // namespace deepgen
