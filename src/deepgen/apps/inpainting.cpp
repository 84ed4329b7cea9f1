#include "deepgen/apps/inpainting.h"

#include "deepgen/core/error.h"

namespace deepgen {
namespace F = torch::nn::functional;

torch::Tensor contextual_weights(const torch::Tensor& masks, int64_t window) {
  check(window >= 1 && window % 2 == 1, "inpaint: --window must be a positive odd number, found ", window);
  auto missing = F::avg_pool2d(1 - masks, F::AvgPool2dFuncOptions(window).stride(1).padding(window / 2).count_include_pad(false));
  return masks * missing;
}

namespace {

// Sum of the 4 neighbours of every pixel, borders replicated. (B, C, H, W) -> (B, C, H, W).
torch::Tensor neighbour_sum(const torch::Tensor& x) {
  const auto shape = x.sizes().vec();
  auto flat = x.reshape({shape[0] * shape[1], 1, shape[2], shape[3]});  // (B, C, H, W) -> (B*C, 1, H, W)
  flat = F::pad(flat, F::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReplicate));
  const auto kernel = torch::tensor({0.f, 1.f, 0.f, 1.f, 0.f, 1.f, 0.f, 1.f, 0.f}, x.options()).view({1, 1, 3, 3});
  return F::conv2d(flat, kernel).view(shape);  // (B*C, 1, H, W) -> (B, C, H, W)
}

}  // namespace

torch::Tensor poisson_blend(const torch::Tensor& target, const torch::Tensor& source, const torch::Tensor& masks,
                            int64_t iterations) {
  torch::NoGradGuard no_grad;
  const auto known = masks.expand_as(target);
  const auto guidance = neighbour_sum(source) - 4 * source;  // the discrete Laplacian of the source
  auto x = known * target + (1 - known) * source;
  for (int64_t i = 0; i < iterations; ++i) {
    // Jacobi: sum_q x_q - 4 x_p = laplacian(source)_p, solved for x_p, inside the hole only.
    x = known * target + (1 - known) * (neighbour_sum(x) - guidance) / 4;
  }
  return x;
}

InpaintResult inpaint(GanFamily& gan, const torch::Tensor& images, const torch::Tensor& soft_masks,
                      const InpaintOptions& options) {
  const auto masks = (soft_masks > 0.5).to(torch::kFloat);  // 1 = known
  const GanOptions& o = gan.gan_options();
  check(images.dim() == 4 && images.size(1) == o.channels && images.size(2) == o.image_size &&
            images.size(3) == o.image_size,
        "inpaint: the generator makes ", o.channels, "x", o.image_size, "x", o.image_size, " images, found ",
        images.sizes());
  check(masks.dim() == 4 && masks.size(1) == 1 && masks.size(2) == o.image_size && masks.size(3) == o.image_size &&
            (masks.size(0) == 1 || masks.size(0) == images.size(0)),
        "inpaint: expected masks of shape (1 or ", images.size(0), ", 1, ", o.image_size, ", ", o.image_size,
        "), found ", masks.sizes());
  check(options.steps >= 0 && options.restarts >= 1 && options.lr > 0 && options.perceptual_weight >= 0,
        "inpaint: expected --steps >= 0, --restarts >= 1, --lr > 0 and --lambda >= 0");
  const auto device = gan.generator()->parameters().front().device();
  const int64_t batch = images.size(0), restarts = options.restarts;
  const auto y = images.to(device).repeat_interleave(restarts, 0);                        // (B*R, C, H, W)
  const auto m = masks.to(device, torch::kFloat).expand({batch, 1, o.image_size, o.image_size})
                     .repeat_interleave(restarts, 0);                                     // (B*R, 1, H, W)
  check(m.lt(0.5).any().item<bool>(), "inpaint: the mask has no missing pixels; nothing to fill");
  const auto weights = contextual_weights(m, options.window);
  torch::Tensor labels;
  if (o.conditional) labels = torch::arange(restarts, torch::kLong).remainder(o.classes).repeat({batch}).to(device);

  auto& generator = gan.sampling_generator();
  auto& discriminator = gan.discriminator();
  generator->eval();
  discriminator->eval();
  auto per_image_loss = [&](const torch::Tensor& z, torch::Tensor* generated) {
    auto g = generator->forward(z, labels);
    if (generated) *generated = g;
    auto contextual = (weights * (g - y)).abs().sum({1, 2, 3});  // (B*R)
    auto scores = discriminator->forward(g, labels);
    // log(1 - D(G(z))) = -softplus(score) for the logistic losses; the generator's own term for lsgan
    // and for a Wasserstein critic (-D(G(z))).
    auto perceptual = o.loss == "lsgan"     ? 0.5 * (scores - 1).pow(2)
                      : o.loss == "wgan-gp" ? -scores
                                            : -F::softplus(scores);
    return contextual + options.perceptual_weight * perceptual;
  };

  auto z = prior_codes(batch * restarts, o.latent_dim, options.seed).to(device).requires_grad_(true);
  torch::optim::Adam adam({z}, torch::optim::AdamOptions(options.lr));
  for (int64_t step = 0; step < options.steps; ++step) {
    // Each code's loss is independent, so the sum gives every code its own gradient; only z moves.
    auto total = per_image_loss(z, nullptr).sum();
    z.mutable_grad() = torch::autograd::grad({total}, {z})[0];
    adam.step();
  }

  torch::NoGradGuard no_grad;
  torch::Tensor generated;
  const auto losses = per_image_loss(z, &generated).view({batch, restarts});  // (B*R) -> (B, R)
  const auto best = std::get<1>(losses.min(1)) + torch::arange(batch, device) * restarts;  // (B) rows of (B*R)
  InpaintResult result;
  result.generated = generated.index_select(0, best);
  result.codes = z.detach().index_select(0, best);
  result.loss = losses.view({-1}).index_select(0, best).cpu();
  const auto known = masks.to(device, torch::kFloat).expand({batch, 1, o.image_size, o.image_size});
  const auto target = images.to(device);
  result.completed = options.poisson ? poisson_blend(target, result.generated, known, options.poisson_iterations)
                                     : known * target + (1 - known) * result.generated;
  // The known pixels are the input's, bit for bit (the arithmetic above may round them).
  result.completed = torch::where(known.expand_as(target) > 0.5, target, result.completed.clamp(-1, 1));
  return result;
}

}  // namespace deepgen
