#include "deepgen/models/inpaint_ae.h"
#include "deepgen/nn/batch_norm.h"
#include "deepgen/core/batch_shard.h"

#include "deepgen/models/registry.h"
#include "deepgen/nn/image_quality.h"
#include "deepgen/core/error.h"
#include "deepgen/data/natural_images.h"

namespace deepgen {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

const OptionSchema<InpaintAeOptions>& inpaint_ae_options() {
  static const auto schema = OptionSchema<InpaintAeOptions>()
      .positive("width", &InpaintAeOptions::width, "Feature maps of the first layer")
      .choice("mask", &InpaintAeOptions::mask, {"center", "random", "mixed"},
              "Training holes: center (half-side square), random (80% of the pixels) or mixed")
      .from_data("channels", &InpaintAeOptions::channels)
      .nested("optimizer", &InpaintAeOptions::optimizer);
  return schema;
}
void to_json(nlohmann::json& j, const InpaintAeOptions& o) { j = inpaint_ae_options().to_json(o); }
void from_json(const nlohmann::json& j, InpaintAeOptions& o) { inpaint_ae_options().from_json(j, o, "model options of 'inpaint-ae'"); }


namespace {
const InpaintAeOptions& validated(const InpaintAeOptions& o) {
  check(o.channels == 1 || o.channels == 3, "inpaint-ae: expected 1 or 3 image channels, found ", o.channels);
  check(o.width >= 1, "--width: expected a positive number of feature maps, found ", o.width);
  check(is_one_of(o.mask, {"center", "random", "mixed"}), "--mask: expected center, random or mixed, found '", o.mask, "'");
  return o;
}
}  // namespace

torch::Tensor hole_loss(const torch::Tensor& output, const torch::Tensor& target, const torch::Tensor& masks) {
  auto hole = (1 - masks).expand_as(output);
  return ((output - target).pow(2) * hole).sum() / hole.sum().clamp_min(1);
}

torch::Tensor mean_fill(const torch::Tensor& images, const torch::Tensor& masks) {
  auto known = masks.expand({images.size(0), 1, images.size(2), images.size(3)});
  auto mean = (images * known).sum({2, 3}, true) / known.sum({2, 3}, true).clamp_min(1);  // (N, C, 1, 1)
  return images * known + mean * (1 - known);
}

torch::Tensor training_masks(const std::string& kind, int64_t n, int64_t side, const torch::TensorOptions& options) {
  auto centre = named_mask("center", side, side).to(options);
  if (kind == "center") return centre.expand({n, 1, side, side});
  // Drawn per image from the global generator (so a resumed run draws what it would have), unlike the
  // seeded evaluation masks.
  auto random = (batch_rand({n, 1, side, side}, options) < kRandomMaskKept).to(options.dtype());
  if (kind == "random") return random;
  auto pick = batch_rand({n, 1, 1, 1}, options) < 0.5;  // mixed: per image
  return torch::where(pick, centre.expand({n, 1, side, side}), random);
}

ContextEncoderImpl::ContextEncoderImpl(int64_t channels, int64_t w) {
  // Each helper appends to one flat Sequential (LibTorch cannot nest Sequentials).
  auto down = [](nn::Sequential& s, int64_t in, int64_t out, bool bn) {  // (N,in,H,W) -> (N,out,H/2,W/2)
    s->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 4).stride(2).padding(1).bias(!bn)));
    if (bn) s->push_back(SyncBatchNorm(out));
    s->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
  };
  auto dilated = [](nn::Sequential& s, int64_t c, int64_t d) {  // (N,c,h,w) -> (N,c,h,w)
    s->push_back(nn::Conv2d(nn::Conv2dOptions(c, c, 3).padding(d).dilation(d).bias(false)));
    s->push_back(SyncBatchNorm(c));
    s->push_back(nn::ReLU());
  };
  auto up = [](nn::Sequential& s, int64_t in, int64_t out) {  // (N,in,h,w) -> (N,out,2h,2w)
    s->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(in, out, 4).stride(2).padding(1).bias(false)));
    s->push_back(SyncBatchNorm(out));
    s->push_back(nn::ReLU());
  };
  encoder = nn::Sequential();  // (N, C+1, H, W) -> (N, 8w, H/16, W/16)
  down(encoder, channels + 1, w, false);
  down(encoder, w, 2 * w, true);
  down(encoder, 2 * w, 4 * w, true);
  down(encoder, 4 * w, 8 * w, true);
  bottleneck = nn::Sequential();  // dilations 2, 4, 8: the view grows to most of a 64-pixel patch
  for (const int64_t d : {2, 4, 8}) dilated(bottleneck, 8 * w, d);
  decoder = nn::Sequential();  // (N, 8w, H/16, W/16) -> (N, C, H, W)
  up(decoder, 8 * w, 4 * w);
  up(decoder, 4 * w, 2 * w);
  up(decoder, 2 * w, w);
  decoder->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(w, channels, 4).stride(2).padding(1)));
  decoder->push_back(nn::Sigmoid());
  register_module("encoder", encoder);
  register_module("bottleneck", bottleneck);
  register_module("decoder", decoder);
}

torch::Tensor ContextEncoderImpl::forward(const torch::Tensor& images, const torch::Tensor& masks) {
  auto input = torch::cat({images * masks, masks}, 1);  // (N, C+1, H, W): the hole blanked, and where it is
  return decoder->forward(bottleneck->forward(encoder->forward(input)));
}

InpaintAeFamily::InpaintAeFamily(const InpaintAeOptions& options, torch::Device device)
    : options_(validated(options)),
      device_(device),
      net_(options_.channels, options_.width),
      optimizer_((net_->to(device), net_->parameters()), options_.optimizer) {}

StepMetrics InpaintAeFamily::train_step(const torch::Tensor& images, const torch::Tensor&) {
  check(images.size(2) % 16 == 0 && images.size(3) % 16 == 0, "inpaint-ae: training patches must be a multiple of 16 ",
        "pixels, found ", images.size(3), "x", images.size(2), "; use --patch-size 64");
  net_->train();
  auto clean = random_dihedral(images);
  auto masks = training_masks(options_.mask, clean.size(0), clean.size(2), clean.options());
  auto output = net_->forward(clean, masks);
  auto loss = hole_loss(output, clean, masks);
  optimizer_.step(loss);
  torch::NoGradGuard no_grad;
  return {{"loss", metric(loss)}, {"psnr_hole", metric(hole_psnr(output, clean, masks))}};
}

Metrics InpaintAeFamily::evaluate(const Dataset& data, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  net_->eval();
  Metrics total = sum_over_split(data.size(), batch_size, [&](int64_t start, int64_t n) -> StepMetrics {
    auto clean = data.images.narrow(0, start, n);
    auto masks = training_masks("center", n, clean.size(2), clean.options());
    auto output = net_->forward(clean, masks);
    return {{"loss", metric(hole_loss(output, clean, masks)) * double(n)},
            {"model", metric(hole_psnr(output, clean, masks)) * double(n)},
            {"baseline", metric(hole_psnr(mean_fill(clean, masks), clean, masks)) * double(n)}};
  });
  const double loss = total["loss"], model = total["model"], baseline = total["baseline"];
  const double count = double(std::max<int64_t>(1, data.size()));
  return {{"loss", loss / count}, {"psnr_hole", model / count}, {"psnr_hole_mean_fill", baseline / count}};
}

torch::Tensor InpaintAeFamily::fill(const torch::Tensor& images, const torch::Tensor& masks) {
  torch::NoGradGuard no_grad;
  net_->eval();
  auto x = images.to(device_);
  auto m = masks.to(device_).expand({x.size(0), 1, x.size(2), x.size(3)});
  const int64_t h = x.size(2), w = x.size(3), ph = (16 - h % 16) % 16, pw = (16 - w % 16) % 16;
  auto pad = [&](const torch::Tensor& t) { return mirror_pad(t, 0, pw, 0, ph); };  // (N, c, H, W) -> (N, c, H+ph, W+pw)
  auto output = net_->forward(pad(x), pad(m)).narrow(2, 0, h).narrow(3, 0, w);
  return x * m + output * (1 - m);
}

std::map<std::string, Picture> InpaintAeFamily::pictures(const Dataset& test) {
  const int64_t n = std::min<int64_t>(8, test.size());
  if (n == 0) return {};
  auto clean = test.images.narrow(0, 0, n);
  auto masks = training_masks("center", n, clean.size(2), clean.options());
  auto rows = torch::cat({clean * masks, fill(clean, masks), clean});  // 3 x (n, C, S, S) -> (3n, C, S, S)
  return {{"inpainted", {to_pixels(rows, pixel_range()), n}}};
}


void InpaintAeFamily::save(torch::serialize::OutputArchive& archive) { save_net_and_optimizer(archive, *net_, optimizer_); }

void InpaintAeFamily::load(torch::serialize::InputArchive& archive) {
  load_net_and_optimizer(archive, *net_, optimizer_, device_);
}

namespace {
[[maybe_unused]] const bool registered_inpaint_ae = [] {
  ModelSpec spec = patch_model<InpaintAeOptions, InpaintAeFamily>(
      "inpaint-ae", "Context-encoder-style inpainting autoencoder (L2 loss on the hole)", inpaint_ae_options(), 64);
  spec.hint = "it fills holes in images; use `deepgen inpaint-ae RUN --image IN.png`";
  return register_model(std::move(spec), /*order=*/100);
}();
}  // namespace

}  // namespace deepgen
