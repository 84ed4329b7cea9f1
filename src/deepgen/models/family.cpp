// What every family shares: reconstruction, prior codes, checkpoint parts and the reconstruction picture.
#include "deepgen/core/error.h"
#include "deepgen/models/family.h"

namespace deepgen {

torch::Tensor prior_codes(int64_t n, int64_t latent_dim, uint64_t seed) {
  auto generator = at::detail::createCPUGenerator(seed);
  return torch::randn({n, latent_dim}, generator, torch::kFloat);
}

bool can_reconstruct(Family& family) {
  return capability<Encoder>(family) != nullptr && capability<Decoder>(family) != nullptr;
}

torch::Tensor reconstruct(Family& family, const torch::Tensor& images) {
  auto* encoder = capability<Encoder>(family);
  auto* decoder = capability<Decoder>(family);
  check(encoder != nullptr && decoder != nullptr, "model '", family.kind(),
        "' cannot reconstruct images: it needs an encoder and a decoder");
  torch::NoGradGuard no_grad;
  return decoder->decode(encoder->encode(images));
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
  auto recon = reconstruct(family, originals);
  const auto shape = originals.sizes().vec();
  // (R*K, C, H, W) -> (R, 2, K, C, H, W) -> (R*2*K, C, H, W)
  auto pairs = torch::stack({originals.view({rows, columns, shape[1], shape[2], shape[3]}),
                             recon.view({rows, columns, shape[1], shape[2], shape[3]})}, 1);
  return {to_pixels(pairs.view({rows * 2 * columns, shape[1], shape[2], shape[3]}), family.pixel_range()), columns};
}

}  // namespace deepgen
