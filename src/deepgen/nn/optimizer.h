// The training toolkit shared by every model family: SGD, momentum, Nesterov momentum and Adam, L2
// weight decay, gradient clipping by global norm, and learning-rate schedules (step decay; SGDR,
// Loshchilov & Hutter 2017: cosine annealing with warm restarts). A family builds one Optimizer per
// network; the trainer sets the learning rate of all of them from the schedule before every step.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "deepgen/core/options.h"

namespace deepgen {

struct OptimizerOptions {
  std::string name = "adam";   // sgd | momentum | nesterov | adam
  double lr = 1e-3;            // base learning rate (the schedule scales it)
  double momentum = 0.9;       // momentum and nesterov: the velocity's decay
  double beta1 = 0.9;          // adam: first-moment decay (DCGAN uses 0.5)
  double beta2 = 0.999;        // adam: second-moment decay
  double weight_decay = 0.0;   // L2 penalty coefficient (coupled, as in torch.optim)
  double clip_grad = 0.0;      // clip the global gradient norm to this (0 = off)
};
void to_json(nlohmann::json& j, const OptimizerOptions& o);
void from_json(const nlohmann::json& j, OptimizerOptions& o);
const OptionSchema<OptimizerOptions>& optimizer_options();

class Optimizer {
 public:
  Optimizer(std::vector<torch::Tensor> parameters, const OptimizerOptions& options);

  // zero_grad, backward, clip (when set), step.
  void step(const torch::Tensor& loss);
  // Sets the learning rate of every parameter group to base lr * factor.
  void set_lr_factor(double factor);
  double lr() const;
  // The global gradient norm of the last step, before clipping, as a 0-dim tensor on the parameters'
  // device (nothing is read back): measured when clipping is on, or always after measure_grad_norm(true)
  // (undefined otherwise).
  void measure_grad_norm(bool on) { measure_grad_norm_ = on; }
  const torch::Tensor& last_grad_norm() const { return last_grad_norm_; }

  // The optimizer's state (moments, step counts). Both do nothing while a WeightsOnly is alive on this
  // thread: a weights-only checkpoint (the model zoo's) holds none, and its optimizers start fresh.
  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

  // Scope of a weights-only save or load (training/checkpoint.h).
  class WeightsOnly {
   public:
    WeightsOnly();
    ~WeightsOnly();
    WeightsOnly(const WeightsOnly&) = delete;
    WeightsOnly& operator=(const WeightsOnly&) = delete;
    static bool active();

   private:
    bool outer_;
  };

  // The shapes of the parameters it optimizes, in order (what a model's weights must match).
  std::vector<std::vector<int64_t>> parameter_shapes() const;

  const OptimizerOptions& options() const { return options_; }
  torch::optim::Optimizer& torch_optimizer() { return *optimizer_; }

 private:
  OptimizerOptions options_;
  std::vector<torch::Tensor> parameters_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  bool measure_grad_norm_ = false;
  torch::Tensor last_grad_norm_;
};

struct ScheduleOptions {
  std::string name = "none";  // none | step | sgdr | linear
  int64_t step_size = 10;     // step: multiply by gamma every step_size epochs
  double gamma = 0.1;         // step: decay factor
  double period = 10;         // sgdr: epochs of the first cosine cycle (T_0)
  double period_mult = 2;     // sgdr: each cycle is this much longer (T_mult)
  double min_factor = 0.0;    // sgdr: the floor, as a fraction of the base learning rate
  double decay_start = -1;    // linear: epochs at the base rate before the decay (-1 = half of --epochs)
};
void to_json(nlohmann::json& j, const ScheduleOptions& o);
void from_json(const nlohmann::json& j, ScheduleOptions& o);
const OptionSchema<ScheduleOptions>& schedule_options();

// The factor on the base learning rate after `epochs` epochs of training (fractional: 2.5 is half-way
// through the third epoch). Step decay changes at epoch boundaries; SGDR follows
// min + (1 - min) * (1 + cos(pi * T_cur / T_i)) / 2 and restarts at 1 when a cycle ends. Linear (CycleGAN's)
// stays at 1 for decay_start epochs, then falls in a straight line to 0 at the end of the run's
// `total_epochs` (which it needs: > decay_start).
double schedule_factor(const ScheduleOptions& schedule, double epochs, double total_epochs = 0);

}  // namespace deepgen
