#include "deepgen/nn/optimizer.h"

#include <cmath>

#include "deepgen/core/batch_shard.h"
#include "deepgen/core/error.h"
#include "deepgen/distributed/world.h"

namespace deepgen {

// Declared once: JSON keys, checks, and the unknown-key errors (core/options.h).
const OptionSchema<OptimizerOptions>& optimizer_options() {
  static const auto schema = OptionSchema<OptimizerOptions>()
      .choice("name", &OptimizerOptions::name, {"sgd", "momentum", "nesterov", "adam"}, "sgd, momentum, nesterov or adam")
      .with([](OptionField& f) { f.flag = "--optimizer"; })
      .positive("lr", &OptimizerOptions::lr, "Learning rate")
      .number("momentum", &OptimizerOptions::momentum, "Momentum of momentum/nesterov", 0.0, 0.999999)
      .number("beta1", &OptimizerOptions::beta1, "Adam's first-moment decay", 0.0, 0.999999)
      .number("beta2", &OptimizerOptions::beta2, "Adam's second-moment decay", 0.0, 0.999999)
      .number("weight_decay", &OptimizerOptions::weight_decay, "L2 weight decay")
      .number("clip_grad", &OptimizerOptions::clip_grad, "Clip the global gradient norm (0 = off)");
  return schema;
}
void to_json(nlohmann::json& j, const OptimizerOptions& o) { j = optimizer_options().to_json(o); }
void from_json(const nlohmann::json& j, OptimizerOptions& o) { optimizer_options().from_json(j, o, "optimizer options"); }

const OptionSchema<ScheduleOptions>& schedule_options() {
  static const auto schema = OptionSchema<ScheduleOptions>()
      .choice("name", &ScheduleOptions::name, {"none", "step", "sgdr", "linear"},
              "none, step, sgdr or linear (constant, then linearly to 0 at the last epoch: CycleGAN's)")
      .with([](OptionField& f) { f.flag = "--schedule"; })
      .positive("step_size", &ScheduleOptions::step_size, "step: epochs between decays")
      .positive("gamma", &ScheduleOptions::gamma, "step: decay factor")
      .positive("period", &ScheduleOptions::period, "sgdr: epochs of the first cycle")
      .with([](OptionField& f) { f.flag = "--sgdr-period"; })
      .number("period_mult", &ScheduleOptions::period_mult, "sgdr: growth of each next cycle", 1.0, 100.0)
      .with([](OptionField& f) { f.flag = "--sgdr-mult"; })
      .number("min_factor", &ScheduleOptions::min_factor, "sgdr: floor as a fraction of --lr", 0.0, 1.0)
      .with([](OptionField& f) { f.flag = "--min-lr-factor"; })
      .number("decay_start", &ScheduleOptions::decay_start, "linear: epochs at --lr before the decay (-1: half of --epochs)",
              -1.0, 1e9);
  return schema;
}
void to_json(nlohmann::json& j, const ScheduleOptions& o) { j = schedule_options().to_json(o); }
void from_json(const nlohmann::json& j, ScheduleOptions& o) { schedule_options().from_json(j, o, "schedule options"); }

Optimizer::Optimizer(std::vector<torch::Tensor> parameters, const OptimizerOptions& o)
    : options_(o), parameters_(std::move(parameters)) {
  check(o.lr > 0, "--lr: expected a positive learning rate, found ", o.lr);
  check(o.weight_decay >= 0, "--weight-decay: expected a non-negative coefficient, found ", o.weight_decay);
  check(o.clip_grad >= 0, "--clip-grad: expected a non-negative norm (0 = off), found ", o.clip_grad);
  check(o.momentum >= 0 && o.momentum < 1, "--momentum: expected a value in [0, 1), found ", o.momentum);
  if (o.name == "adam") {
    optimizer_ = std::make_unique<torch::optim::Adam>(
        parameters_, torch::optim::AdamOptions(o.lr).betas(std::make_tuple(o.beta1, o.beta2)).weight_decay(o.weight_decay));
  } else if (o.name == "sgd" || o.name == "momentum" || o.name == "nesterov") {
    auto sgd = torch::optim::SGDOptions(o.lr).weight_decay(o.weight_decay);
    if (o.name != "sgd") sgd.momentum(o.momentum).nesterov(o.name == "nesterov");
    optimizer_ = std::make_unique<torch::optim::SGD>(parameters_, sgd);
  } else {
    fail("--optimizer: expected sgd, momentum, nesterov or adam, found '", o.name, "'");
  }
}

namespace {

// Data-parallel training: each rank's gradient is of the mean loss over its slice of the global batch;
// weighted by the slice's share and summed over the ranks it is the gradient of the global batch's mean
// (exactly, also for an uneven last batch). Parameters without a gradient (unused by this loss) are left
// out, on every rank alike. Buckets of up to 25 MiB, as DistributedDataParallel's.
void reduce_gradients(const std::vector<torch::Tensor>& parameters) {
  World& w = world();
  const BatchShard* shard = current_shard();
  const double weight = shard != nullptr ? shard->weight() : 1.0 / double(w.size());
  constexpr int64_t kBucketBytes = int64_t(25) << 20;
  std::vector<torch::Tensor> bucket;
  int64_t bytes = 0;
  for (const auto& parameter : parameters) {
    if (!parameter.grad().defined()) continue;
    bucket.push_back(parameter.grad());
    bytes += parameter.grad().numel() * int64_t(parameter.grad().element_size());
    if (bytes >= kBucketBytes) {
      for (auto& grad : bucket) grad.mul_(weight);
      w.all_reduce_sum(bucket, "the gradient all-reduce");
      bucket.clear();
      bytes = 0;
    }
  }
  for (auto& grad : bucket) grad.mul_(weight);
  w.all_reduce_sum(bucket, "the gradient all-reduce");
}

}  // namespace

void Optimizer::step(const torch::Tensor& loss) {
  optimizer_->zero_grad();
  loss.backward();
  if (world().distributed()) reduce_gradients(parameters_);
  if (options_.clip_grad > 0 || measure_grad_norm_) {
    std::vector<torch::Tensor> grads;
    for (const auto& parameter : parameters_) {
      if (parameter.grad().defined()) grads.push_back(parameter.grad());
    }
    // The global 2-norm as torch::nn::utils::clip_grad_norm_ computes it, and the same scaling, but kept
    // a tensor: LibTorch's version reads the norm back to the host, a device sync on every step.
    std::vector<torch::Tensor> norms;
    for (const auto& grad : grads) norms.push_back(grad.data().norm(2.0));
    last_grad_norm_ = norms.empty()      ? torch::zeros({}, torch::kDouble)
                      : norms.size() == 1 ? norms[0]
                                          : torch::stack(norms).norm(2.0);
    if (options_.clip_grad > 0 && !norms.empty()) {
      auto clip_coef = options_.clip_grad / (last_grad_norm_ + 1e-6);
      auto clip_coef_clamped = torch::clamp(clip_coef, c10::nullopt, 1.0);
      for (auto& grad : grads) grad.data().mul_(clip_coef_clamped);
    }
  }
  optimizer_->step();
}

void Optimizer::set_lr_factor(double factor) {
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(options_.lr * factor);
}

double Optimizer::lr() const { return optimizer_->param_groups().front().options().get_lr(); }

namespace {
thread_local bool weights_only = false;
}  // namespace

Optimizer::WeightsOnly::WeightsOnly() : outer_(weights_only) { weights_only = true; }
Optimizer::WeightsOnly::~WeightsOnly() { weights_only = outer_; }
bool Optimizer::WeightsOnly::active() { return weights_only; }

void Optimizer::save(torch::serialize::OutputArchive& archive) const {
  if (!WeightsOnly::active()) optimizer_->save(archive);
}
void Optimizer::load(torch::serialize::InputArchive& archive) {
  if (!WeightsOnly::active()) optimizer_->load(archive);
}

std::vector<std::vector<int64_t>> Optimizer::parameter_shapes() const {
  std::vector<std::vector<int64_t>> shapes;
  for (const auto& parameter : parameters_) shapes.push_back(parameter.sizes().vec());
  return shapes;
}

double schedule_factor(const ScheduleOptions& s, double epochs, double total_epochs) {
  if (s.name == "none") return 1.0;
  if (s.name == "linear") {
    const double start = s.decay_start < 0 ? total_epochs / 2 : s.decay_start;
    check(total_epochs > start, "--decay-start: the linear decay starts after ", start, " epochs, which leaves none of ",
          "the run's ", total_epochs, " (--epochs) to decay in; expected fewer than --epochs");
    return std::clamp(1.0 - (epochs - start) / (total_epochs - start), 0.0, 1.0);
  }
  if (s.name == "step") {
    check(s.step_size >= 1 && s.gamma > 0, "--step-size must be >= 1 and --gamma > 0");
    return std::pow(s.gamma, std::floor(epochs / double(s.step_size)));
  }
  if (s.name == "sgdr") {
    check(s.period > 0 && s.period_mult >= 1 && s.min_factor >= 0 && s.min_factor <= 1,
          "--sgdr-period must be > 0, --sgdr-mult >= 1 and --min-lr-factor in [0, 1]");
    double start = 0, length = s.period;
    while (epochs >= start + length) {  // find the cycle that contains `epochs`
      start += length;
      length *= s.period_mult;
    }
    const double progress = (epochs - start) / length;  // T_cur / T_i in [0, 1)
    return s.min_factor + (1 - s.min_factor) * 0.5 * (1 + std::cos(M_PI * progress));
  }
  fail("--schedule: expected none, step, sgdr or linear, found '", s.name, "'");
}

}  // namespace deepgen
