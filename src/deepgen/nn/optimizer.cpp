#include "deepgen/nn/optimizer.h"

#include <torch/csrc/autograd/utils/lambda_post_hook.h>

#include <cmath>
#include <functional>
#include <mutex>

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

// Data-parallel training: each rank's gradient is of the mean loss over its slice of the global batch;
// weighted by the slice's share and summed over the ranks it is the gradient of the global batch's mean
// (exactly, also for an uneven last batch). Parameters without a gradient (unused by this loss) are left
// out, on every rank alike.
//
// The sums overlap the backward pass, as DistributedDataParallel's reducer does: the parameters are put
// in buckets in reverse order (the order backward produces their gradients), the first of 1 MiB and the
// others of up to 25 MiB (DDP's sizes); a hook after each parameter's gradient accumulator counts the
// gradients that are done, and a bucket whose gradients are all done is started (World::start_all_reduce_sum)
// while backward goes on with the layers below. Buckets start in their order on every rank (a finished
// bucket waits for the ones before it), so the ranks' collectives match. After backward the buckets not
// started yet (a parameter this loss did not reach, or a hook LibTorch dropped: set_data to another
// layout or device makes a new accumulator) are started, and all are waited for. The hooks act only
// inside this optimizer's step: a GAN's generator loss also reaches the discriminator's parameters.
class GradientReducer {
 public:
  explicit GradientReducer(const std::vector<torch::Tensor>& parameters) {
    constexpr int64_t kFirstBucketBytes = int64_t(1) << 20, kBucketBytes = int64_t(25) << 20;
    int64_t bytes = 0;
    for (auto it = parameters.rbegin(); it != parameters.rend(); ++it) {
      if (!it->requires_grad()) continue;
      const int64_t cap = buckets_.size() <= 1 ? kFirstBucketBytes : kBucketBytes;
      if (buckets_.empty() || bytes >= cap) {
        buckets_.emplace_back();
        bytes = 0;
      }
      const size_t index = parameters_.size();
      parameters_.push_back(*it);
      buckets_.back().members.push_back(index);
      bucket_of_.push_back(buckets_.size() - 1);
      bytes += it->numel() * int64_t(it->element_size());
      // The accumulator lives as long as something holds it (the parameter keeps a weak pointer): keep it.
      auto accumulator = torch::autograd::impl::grad_accumulator(*it);
      if (!accumulator) continue;
      const uintptr_t key = accumulator->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
          [this, index](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
            done(index);
            return outputs;
          }));
      hooks_.push_back({accumulator, key});
    }
    done_.assign(parameters_.size(), false);
  }
  ~GradientReducer() {
    for (auto& [accumulator, key] : hooks_) accumulator->del_post_hook(key);
  }
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Before backward: from now on a finished bucket is multiplied by `weight` and started.
  void arm(double weight) {
    std::lock_guard<std::mutex> lock(mutex_);
    weight_ = weight;
    for (auto& bucket : buckets_) bucket.pending = bucket.members.size();
    done_.assign(parameters_.size(), false);
    next_ = 0;
    armed_ = true;
  }
  // After backward: starts what has not started and waits for every bucket.
  void finish() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      armed_ = false;
      while (next_ < buckets_.size()) start(next_++);
    }
    for (auto& bucket : buckets_) {
      auto wait = std::move(bucket.wait);
      bucket.wait = nullptr;
      if (wait) wait();
    }
  }
  // Backward failed: stop counting and forget what was started (Gloo's work holds its own buffers); the
  // error ends the run, and the other ranks exit within --dist-timeout.
  void abandon() {
    std::lock_guard<std::mutex> lock(mutex_);
    armed_ = false;
    for (auto& bucket : buckets_) bucket.wait = nullptr;
  }

 private:
  struct Bucket {
    std::vector<size_t> members;
    size_t pending = 0;          // gradients not done yet in this backward
    std::function<void()> wait;  // set once started
  };
  // From the hook (the thread that runs backward): parameter `index` has its gradient.
  void done(size_t index) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!armed_ || done_[index]) return;
    done_[index] = true;
    --buckets_[bucket_of_[index]].pending;
    while (next_ < buckets_.size() && buckets_[next_].pending == 0) start(next_++);
  }
  void start(size_t b) {
    std::vector<torch::Tensor> grads;
    for (size_t index : buckets_[b].members) {
      const auto& grad = parameters_[index].grad();
      if (!grad.defined()) continue;
      grad.mul_(weight_);
      grads.push_back(grad);
    }
    buckets_[b].wait = world().start_all_reduce_sum(grads, "the gradient all-reduce");
  }

  std::vector<torch::Tensor> parameters_;  // those that take gradients, last first
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;
  std::vector<bool> done_;
  std::vector<std::pair<std::shared_ptr<torch::autograd::Node>, uintptr_t>> hooks_;
  std::mutex mutex_;
  size_t next_ = 0;  // the next bucket to start: they start in order
  bool armed_ = false;
  double weight_ = 1;
};

Optimizer::~Optimizer() = default;
Optimizer::Optimizer(Optimizer&&) noexcept = default;
Optimizer& Optimizer::operator=(Optimizer&&) noexcept = default;

void Optimizer::step(const torch::Tensor& loss) {
  optimizer_->zero_grad();
  if (world().distributed()) {
    if (!reducer_) reducer_ = std::make_unique<GradientReducer>(parameters_);
    const BatchShard* shard = current_shard();
    reducer_->arm(shard != nullptr ? shard->weight() : 1.0 / double(world().size()));
    try {
      loss.backward();
    } catch (...) {
      reducer_->abandon();
      throw;
    }
    reducer_->finish();
  } else {
    loss.backward();
  }
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
