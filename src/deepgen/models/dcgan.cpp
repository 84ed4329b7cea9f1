#include "deepgen/models/dcgan.h"
#include "deepgen/nn/batch_norm.h"

#include "deepgen/core/error.h"
#include "deepgen/nn/spectral_norm.h"

namespace deepgen {
namespace nn = torch::nn;

void to_json(nlohmann::json& j, const DcganOptions& o) {
  j = {{"channels", o.channels}, {"image_size", o.image_size}, {"latent_dim", o.latent_dim},
       {"g_features", o.g_features}, {"d_features", o.d_features},
       {"conditions", o.conditions}, {"d_batch_norm", o.d_batch_norm}, {"spectral_norm", o.spectral_norm}};
}
void from_json(const nlohmann::json& j, DcganOptions& o) {
  o.channels = j.value("channels", o.channels);
  o.image_size = j.value("image_size", o.image_size);
  o.latent_dim = j.value("latent_dim", o.latent_dim);
  o.g_features = j.value("g_features", o.g_features);
  o.d_features = j.value("d_features", o.d_features);
  o.conditions = j.value("conditions", o.conditions);
  o.d_batch_norm = j.value("d_batch_norm", o.d_batch_norm);
  o.spectral_norm = j.value("spectral_norm", o.spectral_norm);
}

namespace {

// The generator starts from a base x base map and doubles it `doublings` times.
struct Layout {
  int64_t base = 4, doublings = 0;
};

Layout layout_for(const DcganOptions& o) {
  check(o.channels == 1 || o.channels == 3, "dcgan: expected 1 or 3 image channels, found ", o.channels);
  check(o.conditions >= 0, "dcgan: conditions must be >= 0, found ", o.conditions);
  check(o.latent_dim >= 1 && o.g_features >= 1 && o.d_features >= 1,
        "dcgan: --latent-dim, --g-features and --d-features must be positive");
  Layout layout;
  layout.base = o.image_size == 28 ? 7 : 4;
  int64_t side = layout.base;
  while (side < o.image_size) {
    side *= 2;
    ++layout.doublings;
  }
  check(side == o.image_size && layout.doublings >= 1 && layout.doublings <= 6,
        "dcgan: image size must be 28 or a power of two from 8 to 256, found ", o.image_size,
        "; use --image-size 64 for image folders");
  return layout;
}

// DCGAN's initialization: conv weights ~ N(0, 0.02); batch-norm scale ~ N(1, 0.02), shift 0.
void dcgan_init(nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& child : module.modules(/*include_self=*/false)) {
    if (auto* conv = child->as<nn::Conv2d>()) {
      nn::init::normal_(conv->weight, 0.0, 0.02);
    } else if (auto* deconv = child->as<nn::ConvTranspose2d>()) {
      nn::init::normal_(deconv->weight, 0.0, 0.02);
    } else if (auto* norm = child->as<SyncBatchNorm>()) {
      nn::init::normal_(norm->weight, 1.0, 0.02);
      nn::init::zeros_(norm->bias);
    }
  }
}

}  // namespace

DcganGeneratorImpl::DcganGeneratorImpl(const DcganOptions& o) : latent_dim(o.latent_dim + o.conditions) {
  const Layout layout = layout_for(o);
  layers = nn::Sequential();
  // z (B, nz, 1, 1) -> (B, ngf * 2^(d-1), base, base)
  int64_t features = o.g_features << (layout.doublings - 1);
  layers->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(latent_dim, features, layout.base).bias(false)));
  layers->push_back(SyncBatchNorm(features));
  layers->push_back(nn::ReLU(true));
  // Each block doubles the side and halves the features; the last one emits the image channels.
  for (int64_t i = 1; i <= layout.doublings; ++i) {
    const bool last = i == layout.doublings;
    const int64_t out = last ? o.channels : features / 2;
    layers->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(features, out, 4).stride(2).padding(1).bias(last)));
    if (!last) {
      layers->push_back(SyncBatchNorm(out));
      layers->push_back(nn::ReLU(true));
    }
    features = out;
  }
  layers->push_back(nn::Tanh());
  register_module("layers", layers);
  dcgan_init(*this);
}

torch::Tensor DcganGeneratorImpl::forward(const torch::Tensor& z) {
  return layers->forward(z.view({z.size(0), latent_dim, 1, 1}));  // (B, nz) -> (B, nz, 1, 1) -> (B, C, S, S)
}

DcganDiscriminatorImpl::DcganDiscriminatorImpl(const DcganOptions& o) {
  const Layout layout = layout_for(o);
  layers = nn::Sequential();
  int64_t features = o.channels + o.conditions;
  // Each block halves the side; no batch norm on the first (as in the paper).
  for (int64_t i = 0; i < layout.doublings; ++i) {
    const int64_t out = o.d_features << i;
    const bool norm = i > 0 && o.d_batch_norm;
    nn::Conv2d conv(nn::Conv2dOptions(features, out, 4).stride(2).padding(1).bias(!norm));
    if (o.spectral_norm) {
      layers->push_back(SpectralNorm(conv));
    } else {
      layers->push_back(conv);
    }
    if (norm) layers->push_back(SyncBatchNorm(out));
    layers->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2).inplace(true)));
    features = out;
  }
  // (B, ndf * 2^(d-1), base, base) -> (B, 1, 1, 1)
  nn::Conv2d last(nn::Conv2dOptions(features, 1, layout.base).bias(false));
  if (o.spectral_norm) {
    layers->push_back(SpectralNorm(last));
  } else {
    layers->push_back(last);
  }
  register_module("layers", layers);
  dcgan_init(*this);
}

torch::Tensor DcganDiscriminatorImpl::forward(const torch::Tensor& images) {
  return layers->forward(images).view({-1});  // (B, 1, 1, 1) -> (B)
}

}  // namespace deepgen
