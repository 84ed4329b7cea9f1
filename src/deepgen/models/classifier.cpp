#include "deepgen/models/classifier.h"
#include "deepgen/nn/batch_norm.h"

#include "deepgen/models/registry.h"
#include "deepgen/core/error.h"

namespace deepgen {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

std::string classifier_arch_scope(const std::string& arch, const std::string& option) {
  if (option == "--width" && is_one_of(arch, {"lenet5", "vgg16"})) return "--arch mlp, vgg, inception or resnet";
  if (option == "--depth" && !is_one_of(arch, {"mlp", "vgg", "resnet"})) return "--arch mlp, vgg or resnet";
  if (option == "--naive-inception" && arch != "inception") return "--arch inception";
  return "";
}

const OptionSchema<ClassifierOptions>& classifier_options() {
  static const auto schema = OptionSchema<ClassifierOptions>()
      .choice("arch", &ClassifierOptions::arch, {"mlp", "lenet5", "vgg", "vgg16", "inception", "resnet"},
              "mlp, lenet5, vgg, vgg16, inception or resnet")
      .choice("activation", &ClassifierOptions::activation, {"sigmoid", "tanh", "relu", "leaky-relu", "elu", "maxout"},
              "sigmoid, tanh, relu, leaky-relu, elu or maxout")
      .choice("init", &ClassifierOptions::init, {"auto", "xavier", "he", "normal"},
              "xavier, he, normal or auto (he for ReLU-like, xavier otherwise)")
      .choice("batch_norm", &ClassifierOptions::batch_norm, {"auto", "on", "off"}, "on, off or auto (on for vgg, inception, resnet)")
      .number("dropout", &ClassifierOptions::dropout, "Dropout before the fully connected layers", 0.0, 0.99)
      .number("width", &ClassifierOptions::width, "mlp: hidden units; conv nets: base channels (0 = default)")
      .scope([](const OptionContext& c) { return classifier_arch_scope(c.options.at("arch").get<std::string>(), "--width"); })
      .number("depth", &ClassifierOptions::depth, "mlp: hidden layers; vgg: blocks; resnet: blocks per stage (0 = default)")
      .scope([](const OptionContext& c) { return classifier_arch_scope(c.options.at("arch").get<std::string>(), "--depth"); })
      .flag("inception_reduce", &ClassifierOptions::inception_reduce, "inception: no 1x1 reductions")
      .with([](OptionField& f) { f.flag = "--naive-inception", f.negated = true; })
      .scope([](const OptionContext& c) { return classifier_arch_scope(c.options.at("arch").get<std::string>(), "--naive-inception"); })
      .number("adversarial_alpha", &ClassifierOptions::adversarial_alpha,
              "alpha: train on alpha*C(x) + (1-alpha)*C(x~) with FGSM x~", 0.0, 1.0)
      .with([](OptionField& f) { f.flag = "--adversarial-training"; })
      .number("adversarial_eps", &ClassifierOptions::adversarial_eps, "FGSM step of adversarial training")
      .scope([](const OptionContext& c) { return c.given.contains("adversarial_alpha") ? "" : "--adversarial-training ALPHA"; })
      .from_data("classes", &ClassifierOptions::classes)
      .from_data("channels", &ClassifierOptions::channels)
      .from_data("image_size", &ClassifierOptions::image_size)
      .nested("optimizer", &ClassifierOptions::optimizer);
  return schema;
}
void to_json(nlohmann::json& j, const ClassifierOptions& o) { j = classifier_options().to_json(o); }
void from_json(const nlohmann::json& j, ClassifierOptions& o) { classifier_options().from_json(j, o, "model options of 'classifier'"); }


ClassifierOptions resolve(ClassifierOptions o) {
  check(is_one_of(o.arch, {"mlp", "lenet5", "vgg", "vgg16", "inception", "resnet"}),
        "--arch: expected mlp, lenet5, vgg, vgg16, inception or resnet, found '", o.arch, "'");
  check(is_one_of(o.activation, {"sigmoid", "tanh", "relu", "leaky-relu", "elu", "maxout"}),
        "--activation: expected sigmoid, tanh, relu, leaky-relu, elu or maxout, found '", o.activation, "'");
  check(is_one_of(o.init, {"auto", "xavier", "he", "normal"}), "--init: expected xavier, he, normal or auto, found '", o.init, "'");
  check(is_one_of(o.batch_norm, {"auto", "on", "off"}), "--batch-norm: expected on, off or auto, found '", o.batch_norm, "'");
  check(o.channels == 1 || o.channels == 3, "classifier: expected 1 or 3 image channels, found ", o.channels);
  check(o.classes >= 2, "classifier: expected at least 2 classes, found ", o.classes,
        " (an image folder needs one sub-folder per class)");
  check(o.dropout >= 0 && o.dropout < 1, "--dropout: expected a probability in [0, 1), found ", o.dropout);
  check(o.adversarial_alpha >= 0 && o.adversarial_alpha <= 1, "--adversarial-training: expected alpha in [0, 1], found ",
        o.adversarial_alpha);
  check(o.adversarial_eps >= 0, "--adversarial-eps: expected a non-negative step, found ", o.adversarial_eps);
  check(o.activation != "maxout" || is_one_of(o.arch, {"mlp", "lenet5", "vgg", "vgg16"}),
        "--activation maxout: available for mlp, lenet5 and vgg (residual and inception blocks add channels)");
  if (o.init == "auto") o.init = is_one_of(o.activation, {"sigmoid", "tanh"}) ? "xavier" : "he";
  if (o.batch_norm == "auto") o.batch_norm = is_one_of(o.arch, {"vgg", "inception", "resnet"}) ? "on" : "off";
  if (o.width == 0) o.width = o.arch == "mlp" ? 512 : o.arch == "resnet" ? 16 : 32;
  if (o.depth == 0) o.depth = o.arch == "mlp" ? 2 : o.arch == "vgg" ? 3 : o.arch == "resnet" ? 3 : 0;
  check(o.width >= 1 && o.depth >= 0, "--width must be positive and --depth not negative");
  if (o.arch == "lenet5") {
    check(o.image_size == 28 || o.image_size == 32, "--arch lenet5: expects 28x28 or 32x32 images, found ", o.image_size);
  }
  if (o.arch == "vgg") {
    check(o.image_size >> o.depth >= 1, "--arch vgg: ", o.depth, " pooling blocks shrink a ", o.image_size,
          "-pixel image below one pixel; use a smaller --depth");
  }
  if (o.arch == "vgg16") check(o.image_size >= 32, "--arch vgg16: expects images of at least 32 pixels, found ", o.image_size);
  return o;
}

torch::Tensor ActivationImpl::forward(const torch::Tensor& x) {
  if (name == "relu") return torch::relu(x);
  if (name == "sigmoid") return torch::sigmoid(x);
  if (name == "tanh") return torch::tanh(x);
  if (name == "leaky-relu") return F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.01));
  if (name == "elu") return F::elu(x);
  // maxout: (B, 2C, ...) -> (B, C, 2, ...) -> max over the pair -> (B, C, ...)
  auto shape = x.sizes().vec();
  shape[1] /= 2;
  shape.insert(shape.begin() + 2, 2);
  return std::get<0>(x.view(shape).max(2));
}

namespace {

// conv (+ batch norm) + activation; maxout doubles the convolution's outputs.
void add_conv(nn::Sequential& seq, int64_t in, int64_t out, int64_t kernel, int64_t padding, bool batch_norm,
              const std::string& activation) {
  const int64_t produced = activation == "maxout" ? 2 * out : out;
  seq->push_back(nn::Conv2d(nn::Conv2dOptions(in, produced, kernel).padding(padding).bias(!batch_norm)));
  if (batch_norm) seq->push_back(SyncBatchNorm(produced));
  seq->push_back(Activation(activation));
}

// (dropout +) linear (+ batch norm) + activation.
void add_dense(nn::Sequential& seq, int64_t in, int64_t out, bool batch_norm, double dropout, const std::string& activation) {
  const int64_t produced = activation == "maxout" ? 2 * out : out;
  if (dropout > 0) seq->push_back(nn::Dropout(dropout));
  seq->push_back(nn::Linear(nn::LinearOptions(in, produced).bias(!batch_norm)));
  if (batch_norm) seq->push_back(SyncBatchNorm(produced));
  seq->push_back(Activation(activation));
}

void add_head(nn::Sequential& seq, int64_t in, int64_t classes, double dropout) {
  if (dropout > 0) seq->push_back(nn::Dropout(dropout));
  seq->push_back(nn::Linear(in, classes));
}

void initialize(nn::Module& module, const std::string& scheme) {
  torch::NoGradGuard no_grad;
  for (auto& child : module.modules(/*include_self=*/false)) {
    torch::Tensor weight, bias;
    if (auto* conv = child->as<nn::Conv2d>()) {
      weight = conv->weight;
      bias = conv->bias;
    } else if (auto* linear = child->as<nn::Linear>()) {
      weight = linear->weight;
      bias = linear->bias;
    } else {
      continue;
    }
    if (scheme == "xavier") nn::init::xavier_uniform_(weight);
    if (scheme == "he") nn::init::kaiming_normal_(weight, 0.0, torch::kFanIn, torch::kReLU);
    if (scheme == "normal") nn::init::normal_(weight, 0.0, 0.01);
    if (bias.defined()) nn::init::zeros_(bias);
  }
}

}  // namespace

ResidualBlockImpl::ResidualBlockImpl(int64_t in, int64_t out, int64_t stride, bool batch_norm, const std::string& act) {
  conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(!batch_norm)));
  conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(out, out, 3).padding(1).bias(!batch_norm)));
  if (batch_norm) {
    norm1 = register_module("norm1", SyncBatchNorm(out));
    norm2 = register_module("norm2", SyncBatchNorm(out));
  }
  if (stride != 1 || in != out) {
    projection = register_module("projection", nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(!batch_norm)));
    if (batch_norm) projection_norm = register_module("projection_norm", SyncBatchNorm(out));
  }
  activation = register_module("activation", Activation(act));
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x) {
  auto y = conv1->forward(x);
  if (norm1) y = norm1->forward(y);
  y = conv2->forward(activation->forward(y));
  if (norm2) y = norm2->forward(y);
  auto shortcut = x;
  if (projection) {
    shortcut = projection->forward(x);
    if (projection_norm) shortcut = projection_norm->forward(shortcut);
  }
  return activation->forward(y + shortcut);
}

InceptionImpl::InceptionImpl(int64_t in, int64_t width, bool reduce, bool batch_norm, const std::string& act) {
  const int64_t w1 = width, w3 = width, w5 = width / 2, wp = width / 2;
  branch1 = nn::Sequential();
  add_conv(branch1, in, w1, 1, 0, batch_norm, act);
  branch3 = nn::Sequential();
  branch5 = nn::Sequential();
  branch_pool = nn::Sequential(nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(1).padding(1)));
  if (reduce) {
    add_conv(branch3, in, w3 / 2, 1, 0, batch_norm, act);
    add_conv(branch3, w3 / 2, w3, 3, 1, batch_norm, act);
    add_conv(branch5, in, std::max<int64_t>(1, w5 / 2), 1, 0, batch_norm, act);
    add_conv(branch5, std::max<int64_t>(1, w5 / 2), w5, 5, 2, batch_norm, act);
    add_conv(branch_pool, in, wp, 1, 0, batch_norm, act);
    out_channels = w1 + w3 + w5 + wp;
  } else {
    add_conv(branch3, in, w3, 3, 1, batch_norm, act);
    add_conv(branch5, in, w5, 5, 2, batch_norm, act);
    out_channels = w1 + w3 + w5 + in;  // the pooling branch keeps every input channel
  }
  register_module("branch1", branch1);
  register_module("branch3", branch3);
  register_module("branch5", branch5);
  register_module("branch_pool", branch_pool);
}

torch::Tensor InceptionImpl::forward(const torch::Tensor& x) {
  return torch::cat({branch1->forward(x), branch3->forward(x), branch5->forward(x), branch_pool->forward(x)}, 1);
}

ClassifierNetImpl::ClassifierNetImpl(const ClassifierOptions& given) : options(resolve(given)) {
  const auto& o = options;
  const bool bn = o.batch_norm == "on";
  const auto& act = o.activation;
  layers = nn::Sequential();
  auto pool = [&] { layers->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2))); };
  if (o.arch == "mlp") {
    layers->push_back(nn::Flatten());  // (B, C, H, W) -> (B, C*H*W)
    int64_t in = o.channels * o.image_size * o.image_size;
    for (int64_t i = 0; i < o.depth; ++i) {
      add_dense(layers, in, o.width, bn, i == 0 ? 0.0 : o.dropout, act);
      in = o.width;
    }
    add_head(layers, in, o.classes, o.dropout);
  } else if (o.arch == "lenet5") {
    add_conv(layers, o.channels, 6, 5, o.image_size == 28 ? 2 : 0, bn, act);  // (B, 6, 28, 28)
    pool();                                                                     // (B, 6, 14, 14)
    add_conv(layers, 6, 16, 5, 0, bn, act);                                     // (B, 16, 10, 10)
    pool();                                                                     // (B, 16, 5, 5)
    layers->push_back(nn::Flatten());                                           // (B, 400)
    add_dense(layers, 16 * 5 * 5, 120, bn, 0.0, act);
    add_dense(layers, 120, 84, bn, o.dropout, act);
    add_head(layers, 84, o.classes, o.dropout);
  } else if (o.arch == "vgg" || o.arch == "vgg16") {
    // vgg: `depth` blocks of two 3x3 convs + 2x2 pooling, doubling the channels; vgg16: the ImageNet stack.
    std::vector<std::vector<int64_t>> blocks;
    if (o.arch == "vgg16") {
      blocks = {{64, 64}, {128, 128}, {256, 256, 256}, {512, 512, 512}, {512, 512, 512}};
    } else {
      for (int64_t i = 0; i < o.depth; ++i) blocks.push_back({o.width << i, o.width << i});
    }
    int64_t in = o.channels, side = o.image_size;
    for (const auto& block : blocks) {
      for (int64_t out : block) {
        add_conv(layers, in, out, 3, 1, bn, act);
        in = out;
      }
      pool();
      side /= 2;
    }
    layers->push_back(nn::Flatten());  // (B, C, s, s) -> (B, C*s*s)
    const int64_t hidden = o.arch == "vgg16" ? 4096 : 256;
    add_dense(layers, in * side * side, hidden, bn, 0.0, act);
    if (o.arch == "vgg16") add_dense(layers, hidden, hidden, bn, o.dropout, act);
    add_head(layers, hidden, o.classes, o.dropout);
  } else if (o.arch == "inception") {
    add_conv(layers, o.channels, o.width, 3, 1, bn, act);  // stem
    Inception first(o.width, o.width, o.inception_reduce, bn, act);
    layers->push_back(first);
    pool();
    Inception second(first->out_channels, 2 * o.width, o.inception_reduce, bn, act);
    layers->push_back(second);
    pool();
    layers->push_back(nn::AdaptiveAvgPool2d(1));
    layers->push_back(nn::Flatten());  // (B, C, 1, 1) -> (B, C)
    add_head(layers, second->out_channels, o.classes, o.dropout);
  } else {  // resnet: a 3x3 stem, three stages of `depth` blocks (w, 2w, 4w channels), global pooling
    add_conv(layers, o.channels, o.width, 3, 1, bn, act);
    int64_t in = o.width;
    for (int64_t stage = 0; stage < 3; ++stage) {
      const int64_t out = o.width << stage;
      for (int64_t block = 0; block < o.depth; ++block) {
        layers->push_back(ResidualBlock(in, out, stage > 0 && block == 0 ? 2 : 1, bn, act));
        in = out;
      }
    }
    layers->push_back(nn::AdaptiveAvgPool2d(1));
    layers->push_back(nn::Flatten());
    add_head(layers, in, o.classes, o.dropout);
  }
  register_module("layers", layers);
  initialize(*this, o.init);
}

torch::Tensor fgsm(ClassifierNet& net, const torch::Tensor& images, const torch::Tensor& labels, double eps) {
  torch::AutoGradMode enable(true);
  auto x = images.detach().clone().requires_grad_(true);
  auto loss = F::cross_entropy(net->forward(x), labels);
  auto gradient = torch::autograd::grad({loss}, {x})[0];
  return (images + eps * gradient.sign()).clamp(0.0, 1.0).detach();
}

ClassifierFamily::ClassifierFamily(const ClassifierOptions& options, torch::Device device)
    : options_(resolve(options)),
      device_(device),
      net_(options_),
      optimizer_((net_->to(device), net_->parameters()), options_.optimizer) {}

StepMetrics ClassifierFamily::train_step(const torch::Tensor& images, const torch::Tensor& labels) {
  net_->train();
  auto logits = net_->forward(images);
  auto loss = F::cross_entropy(logits, labels);
  StepMetrics metrics;
  if (options_.adversarial_alpha < 1.0) {
    // Goodfellow et al.: the attack is made with the current weights, on the fly.
    auto attacked = fgsm(net_, images, labels, options_.adversarial_eps);
    auto adversarial_loss = F::cross_entropy(net_->forward(attacked), labels);
    metrics["adversarial_loss"] = metric(adversarial_loss);
    loss = options_.adversarial_alpha * loss + (1 - options_.adversarial_alpha) * adversarial_loss;
  }
  optimizer_.step(loss);
  metrics["loss"] = metric(loss);
  metrics["accuracy"] = metric((logits.argmax(1) == labels).to(torch::kFloat).mean());
  return metrics;
}

Metrics classification_metrics(const std::function<torch::Tensor(const torch::Tensor&)>& logits_of,
                               const Dataset& data, int64_t batch_size, bool with_top5) {
  torch::NoGradGuard no_grad;
  Metrics total = sum_over_split(data.size(), batch_size, [&](int64_t start, int64_t count) {
    auto logits = logits_of(data.images.narrow(0, start, count));
    auto labels = data.labels.narrow(0, start, count);
    StepMetrics batch = {{"loss", F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().reduction(torch::kSum))},
                         {"correct", (logits.argmax(1) == labels).sum()}};
    if (with_top5) {
      const int64_t k = std::min<int64_t>(5, logits.size(1));
      batch["top5"] = (std::get<1>(logits.topk(k, 1)) == labels.unsqueeze(1)).any(1).sum();
    }
    return batch;
  });
  const double loss = total["loss"], correct = total["correct"], top5 = total["top5"];
  const double n = double(std::max<int64_t>(1, data.size()));
  Metrics metrics = {{"loss", loss / n}, {"accuracy", correct / n}};
  if (with_top5) metrics["top5"] = top5 / n;
  return metrics;
}

Metrics ClassifierFamily::evaluate(const Dataset& data, int64_t batch_size) {
  net_->eval();
  return classification_metrics([&](const torch::Tensor& images) { return net_->forward(images); }, data,
                                batch_size, /*with_top5=*/true);
}

torch::Tensor ClassifierFamily::probabilities(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  net_->eval();
  return torch::softmax(net_->forward(images.to(device_)), 1);
}

torch::Tensor ClassifierFamily::features(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  net_->eval();
  auto x = images.to(device_);
  auto& layers = *net_->layers;
  for (auto layer = layers.begin(); layer + 1 != layers.end(); ++layer) x = layer->forward(x);
  return x.flatten(1);  // (B, F)
}

torch::Tensor ensemble_probabilities(const std::vector<ClassifierFamily*>& members, const torch::Tensor& images) {
  check(!members.empty(), "ensemble: no members");
  torch::Tensor sum;
  for (ClassifierFamily* member : members) {
    auto p = member->probabilities(images);
    sum = sum.defined() ? sum + p : p;
  }
  return sum / double(members.size());
}


void ClassifierFamily::save(torch::serialize::OutputArchive& archive) {
  save_net_and_optimizer(archive, *net_, optimizer_);
}

void ClassifierFamily::load(torch::serialize::InputArchive& archive) {
  load_net_and_optimizer(archive, *net_, optimizer_, device_);
}

namespace {
[[maybe_unused]] const bool registered_classifier = [] {
  ModelSpec spec = image_model<ClassifierOptions, ClassifierFamily>(
      "classifier", "Image classifiers: mlp, lenet5, vgg, vgg16, inception, resnet", classifier_options(),
      PixelRange::kUnit, /*with_classes=*/true);
  spec.hint = "it is not generative; use `deepgen eval` or `deepgen attack` on it";
  return register_model(std::move(spec), /*order=*/50);
}();
}  // namespace

}  // namespace deepgen
