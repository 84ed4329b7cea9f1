// What every family shares: the latent-space defaults, checkpoint parts and the reconstruction picture.
#include "deepgen/core/error.h"
#include "deepgen/models/family.h"

namespace deepgen {

torch::Tensor Family::encode(const torch::Tensor&) {
  fail("model '", kind(), "' has no encoder; this needs an autoencoder run (vae, ae or pca)");
}

torch::Tensor Family::decode(const torch::Tensor&) {
  fail("model '", kind(), "' has no decoder or generator");
}

void Family::set_condition(int64_t) {
  fail("model '", kind(), "' is not class-conditional; train a gan with --conditional to choose a class");
}

torch::Tensor prior_codes(int64_t n, int64_t latent_dim, uint64_t seed) {
  auto generator = at::detail::createCPUGenerator(seed);
  return torch::randn({n, latent_dim}, generator, torch::kFloat);
}

torch::Tensor Family::reconstruct(const torch::Tensor& images) {
  check(can_reconstruct(), "model '", kind(), "' cannot reconstruct images; this needs an autoencoder run (vae, ae or pca)");
  torch::NoGradGuard no_grad;
  return decode(encode(images));
}

void save_net_and_optimizer(torch::serialize::OutputArchive& archive, torch::nn::Module& net, const Optimizer& optimizer) {
  torch::serialize::OutputArchive net_archive, optimizer_archive;
  net.save(net_archive);
  optimizer.save(optimizer_archive);
  archive.write("net", net_archive);
  archive.write("optimizer", optimizer_archive);
}

void load_net_and_optimizer(torch::serialize::InputArchive& archive, torch::nn::Module& net, Optimizer& optimizer,
                            torch::Device device) {
  torch::serialize::InputArchive net_archive, optimizer_archive;
  archive.read("net", net_archive);
  archive.read("optimizer", optimizer_archive);
  net.load(net_archive);
  net.to(device);
  optimizer.load(optimizer_archive);
}

Picture reconstruction_picture(Family& family, const Dataset& test) {
  const int64_t columns = std::min<int64_t>(8, test.size());
  const int64_t rows = columns > 0 ? std::min<int64_t>(4, test.size() / columns) : 0;
  check(rows > 0, "reconstructions: the test split is empty");
  auto originals = test.images.narrow(0, 0, rows * columns);
  auto recon = family.reconstruct(originals);
  const auto shape = originals.sizes().vec();
  // (R*K, C, H, W) -> (R, 2, K, C, H, W) -> (R*2*K, C, H, W)
  auto pairs = torch::stack({originals.view({rows, columns, shape[1], shape[2], shape[3]}),
                             recon.view({rows, columns, shape[1], shape[2], shape[3]})}, 1);
  return {to_pixels(pairs.view({rows * 2 * columns, shape[1], shape[2], shape[3]}), family.pixel_range()), columns};
}

}  // namespace deepgen
