// Robustness measured on a test split: a classifier's accuracy under the fast gradient sign attack
// (Goodfellow et al. 2015), and how much an autoencoder's reconstruction removes corruption (the
// lectures' denoising autoencoder). The CLI's `attack` and `denoise-ae` print and draw these.
#pragma once

#include <string>
#include <vector>

#include "deepgen/data/dataset.h"
#include "deepgen/models/classifier.h"
#include "deepgen/models/family.h"

namespace deepgen {

struct AttackAccuracy {
  double clean = 0;              // accuracy on the test images
  std::vector<double> attacked;  // accuracy on their FGSM images, one per eps
};
// x~ = clamp(x + eps * sign(grad_x loss), 0, 1) with the classifier's current weights, per eps.
AttackAccuracy fgsm_accuracy(ClassifierFamily& classifier, const Dataset& test, const std::vector<double>& epsilons,
                             int64_t batch_size = 500);

struct DenoisingPsnr {
  double noisy = 0;     // mean PSNR of the corrupted inputs against the originals, dB
  double denoised = 0;  // of the reconstructions of the corrupted inputs
  double clean = 0;     // of the reconstructions of the originals (what the code keeps at best)
};
// For a model that reconstructs (vae, ae, pca); the corruption (gaussian, masking or salt-pepper at
// `level`) is drawn from the global generator.
DenoisingPsnr denoising_psnr(Family& model, const Dataset& test, const std::string& noise, double level,
                             int64_t batch_size = 500);

}  // namespace deepgen
