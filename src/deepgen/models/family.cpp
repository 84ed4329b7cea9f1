// Maps model names to families, and what every family shares: the latent-space defaults and the
// reconstruction picture.
#include "deepgen/core/error.h"
#include "deepgen/models/autoencoder.h"
#include "deepgen/models/charlm.h"
#include "deepgen/models/classifier.h"
#include "deepgen/models/dncnn.h"
#include "deepgen/models/gan.h"
#include "deepgen/models/inpaint_ae.h"
#include "deepgen/models/pca.h"
#include "deepgen/models/seqclass.h"
#include "deepgen/models/super_resolution.h"
#include "deepgen/models/vae.h"

namespace deepgen {

std::vector<std::string> family_kinds() { return {"vae", "ae", "pca", "gan", "classifier", "charlm", "seqclass", "dncnn", "sr", "inpaint-ae"}; }

std::unique_ptr<Family> make_family(const std::string& kind, const nlohmann::json& options,
                                    torch::Device device) {
  try {
    if (kind == "vae") return std::make_unique<VaeFamily>(options.get<VaeOptions>(), device);
    if (kind == "ae") return std::make_unique<AutoencoderFamily>(options.get<AutoencoderOptions>(), device);
    if (kind == "pca") return std::make_unique<PcaFamily>(options.get<PcaOptions>(), device);
    if (kind == "gan") return std::make_unique<GanFamily>(options.get<GanOptions>(), device);
    if (kind == "classifier") return std::make_unique<ClassifierFamily>(options.get<ClassifierOptions>(), device);
    if (kind == "charlm") return std::make_unique<CharLmFamily>(options.get<CharLmOptions>(), device);
    if (kind == "seqclass") return std::make_unique<SeqClassFamily>(options.get<SeqClassOptions>(), device);
    if (kind == "dncnn") return std::make_unique<DnCnnFamily>(options.get<DnCnnOptions>(), device);
    if (kind == "sr") return std::make_unique<SrFamily>(options.get<SrOptions>(), device);
    if (kind == "inpaint-ae") return std::make_unique<InpaintAeFamily>(options.get<InpaintAeOptions>(), device);
  } catch (const nlohmann::json::exception& error) {
    fail("model options for '", kind, "': ", error.what());
  }
  std::string valid;
  for (const auto& name : family_kinds()) valid += (valid.empty() ? "" : ", ") + name;
  fail("unknown model '", kind, "'; valid models: ", valid);
}

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
