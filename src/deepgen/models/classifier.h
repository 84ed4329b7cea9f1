// Image classifiers of the lectures, trained with softmax cross-entropy: an MLP, LeNet-5 (LeCun et al.
// 1998), VGG-style stacks of 3x3 convolutions (Simonyan & Zisserman 2015; `vgg16` is the ImageNet
// configuration), Inception modules, naive and with 1x1 reductions (Szegedy et al. 2015), and ResNets
// with identity skip connections (He et al. 2016). Also the fast gradient sign method (Goodfellow et
// al. 2015): x~ = x + eps * sign(grad_x C(x)), and adversarial training on alpha*C(x) + (1-alpha)*C(x~).
#pragma once

#include <torch/torch.h>

#include <functional>

#include "deepgen/nn/batch_norm.h"
#include "deepgen/core/options.h"
#include "deepgen/models/family.h"

namespace deepgen {

// Mean cross-entropy ("loss") and "accuracy" over `data`, in batches, without gradients, of the logits
// (B, classes) that `logits_of` gives for each batch of inputs; with `with_top5` also "top5" (the true
// class among the min(5, classes) most likely). Shared by the image and the text classifiers.
Metrics classification_metrics(const std::function<torch::Tensor(const torch::Tensor&)>& logits_of,
                               const Dataset& data, int64_t batch_size, bool with_top5);

struct ClassifierOptions {
  std::string arch = "lenet5";       // mlp | lenet5 | vgg | vgg16 | inception | resnet
  int64_t channels = 1;              // image channels (set from the data)
  int64_t image_size = 28;           // image side (set from the data)
  int64_t classes = 10;              // number of classes (set from the data)
  std::string activation = "relu";   // sigmoid | tanh | relu | leaky-relu | elu | maxout
  std::string init = "auto";         // xavier | he | normal (N(0, 0.01)) | auto (he for ReLU-like, xavier otherwise)
  std::string batch_norm = "auto";   // on | off | auto (on for vgg, inception, resnet; off for mlp, lenet5)
  double dropout = 0.0;              // dropout probability before each fully connected layer of the head
  int64_t width = 0;                 // mlp: hidden units; conv nets: base channels (0 = the arch's default)
  int64_t depth = 0;                 // mlp: hidden layers; vgg: conv blocks; resnet: blocks per stage (0 = default)
  bool inception_reduce = true;      // inception: 1x1 reductions before the 3x3 and 5x5 convolutions
  double adversarial_alpha = 1.0;    // weight of the clean loss; < 1 trains on alpha*C(x) + (1-alpha)*C(x~)
  double adversarial_eps = 0.1;      // FGSM step used by adversarial training (pixels in [0, 1])
  OptimizerOptions optimizer;        // Adam, lr 1e-3
};
void to_json(nlohmann::json& j, const ClassifierOptions& o);
void from_json(const nlohmann::json& j, ClassifierOptions& o);
// The classifier options an architecture ignores (LeNet-5 and VGG-16 have fixed shapes): "" when
// `option` (--width, --depth, --naive-inception) shapes `arch`, else the architectures it is for
// ("--arch mlp, vgg or resnet").
std::string classifier_arch_scope(const std::string& arch, const std::string& option);
// The declarations of ClassifierOptions: flags, help, JSON keys, valid values, scopes.
const OptionSchema<ClassifierOptions>& classifier_options();

// Resolves "auto" and the 0 defaults of an arch into concrete values; validates everything.
ClassifierOptions resolve(ClassifierOptions options);

// An activation chosen by name; maxout takes the max over consecutive pairs of channels/units, so the
// layer before it produces twice the features.
struct ActivationImpl : torch::nn::Module {
  explicit ActivationImpl(std::string name) : name(std::move(name)) {}
  torch::Tensor forward(const torch::Tensor& x);
  std::string name;
};
TORCH_MODULE(Activation);

// Two 3x3 convolutions with batch norm; the input is added back (identity), or projected by a 1x1
// stride-s convolution when the shape changes.
struct ResidualBlockImpl : torch::nn::Module {
  ResidualBlockImpl(int64_t in, int64_t out, int64_t stride, bool batch_norm, const std::string& activation);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, projection{nullptr};
  SyncBatchNorm norm1{nullptr}, norm2{nullptr}, projection_norm{nullptr};
  Activation activation{nullptr};
};
TORCH_MODULE(ResidualBlock);

// Parallel 1x1, 3x3, 5x5 convolutions and 3x3 max pooling, concatenated along the channels. Naive:
// the pooling branch passes all input channels through; with reductions, 1x1 convolutions shrink the
// channels before the 3x3/5x5 and after the pooling.
struct InceptionImpl : torch::nn::Module {
  InceptionImpl(int64_t in, int64_t width, bool reduce, bool batch_norm, const std::string& activation);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t out_channels = 0;
  torch::nn::Sequential branch1{nullptr}, branch3{nullptr}, branch5{nullptr}, branch_pool{nullptr};
};
TORCH_MODULE(Inception);

// images (B, C, H, W) in [0, 1] -> logits (B, classes). One flat Sequential of layers and blocks, so
// `deepgen layers` can walk it.
struct ClassifierNetImpl : torch::nn::Module {
  explicit ClassifierNetImpl(const ClassifierOptions& options);
  torch::Tensor forward(const torch::Tensor& images) { return layers->forward(images); }
  ClassifierOptions options;
  torch::nn::Sequential layers{nullptr};
};
TORCH_MODULE(ClassifierNet);

// x~ = clamp(x + eps * sign(grad_x CE(net(x), y)), 0, 1), in the network's current mode.
torch::Tensor fgsm(ClassifierNet& net, const torch::Tensor& images, const torch::Tensor& labels, double eps);

class ClassifierFamily;

// An ensemble's prediction: the mean of its members' softmax probabilities, (B, classes).
torch::Tensor ensemble_probabilities(const std::vector<ClassifierFamily*>& members, const torch::Tensor& images);

class ClassifierFamily : public Family {
 public:
  ClassifierFamily(const ClassifierOptions& options, torch::Device device);

  std::string kind() const override { return "classifier"; }
  nlohmann::json options() const override { return options_; }
  PixelRange pixel_range() const override { return PixelRange::kUnit; }
  bool conv_heavy() const override { return options_.arch != "mlp"; }
  StepMetrics train_step(const torch::Tensor& images, const torch::Tensor& labels) override;
  // loss (cross-entropy), accuracy and top5 accuracy.
  Metrics evaluate(const Dataset& data, int64_t batch_size) override;
  std::map<std::string, Picture> pictures(const Dataset&) override { return {}; }
  std::vector<Optimizer*> optimizers() override { return {&optimizer_}; }
  void save(torch::serialize::OutputArchive& archive) override;
  void load(torch::serialize::InputArchive& archive) override;

  // Softmax probabilities (B, classes) in eval mode, without gradients.
  torch::Tensor probabilities(const torch::Tensor& images);
  // The input of the last (fully connected) layer: (B, F) features in eval mode, without gradients.
  torch::Tensor features(const torch::Tensor& images);
  ClassifierNet& net() { return net_; }

 private:
  ClassifierOptions options_;
  torch::Device device_;
  ClassifierNet net_;
  Optimizer optimizer_;
};

}  // namespace deepgen
