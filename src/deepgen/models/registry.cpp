// Maps model names to families, and the small helpers every family shares.
#include "deepgen/core/error.h"
#include "deepgen/models/dcgan.h"
#include "deepgen/models/vae.h"

namespace deepgen {

std::vector<std::string> family_kinds() { return {"vae", "dcgan"}; }

std::unique_ptr<Family> make_family(const std::string& kind, const nlohmann::json& options,
                                    torch::Device device) {
  try {
    if (kind == "vae") return std::make_unique<VaeFamily>(options.get<VaeOptions>(), device);
    if (kind == "dcgan") return std::make_unique<DcganFamily>(options.get<DcganOptions>(), device);
  } catch (const nlohmann::json::exception& error) {
    fail("model options for '", kind, "': ", error.what());
  }
  std::string valid;
  for (const auto& name : family_kinds()) valid += (valid.empty() ? "" : ", ") + name;
  fail("unknown model '", kind, "'; valid models: ", valid);
}

torch::Tensor Family::reconstruct(const torch::Tensor&) {
  fail("model '", kind(), "' has no encoder and cannot reconstruct images; use an autoencoder run (vae)");
}

}  // namespace deepgen
