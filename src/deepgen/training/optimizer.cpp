#include "deepgen/training/optimizer.h"

#include <cmath>

#include "deepgen/core/error.h"

namespace deepgen {

void to_json(nlohmann::json& j, const OptimizerOptions& o) {
  j = {{"name", o.name}, {"lr", o.lr}, {"momentum", o.momentum}, {"beta1", o.beta1}, {"beta2", o.beta2},
       {"weight_decay", o.weight_decay}, {"clip_grad", o.clip_grad}};
}
void from_json(const nlohmann::json& j, OptimizerOptions& o) {
  o.name = j.value("name", o.name);
  o.lr = j.value("lr", o.lr);
  o.momentum = j.value("momentum", o.momentum);
  o.beta1 = j.value("beta1", o.beta1);
  o.beta2 = j.value("beta2", o.beta2);
  o.weight_decay = j.value("weight_decay", o.weight_decay);
  o.clip_grad = j.value("clip_grad", o.clip_grad);
}
void to_json(nlohmann::json& j, const ScheduleOptions& o) {
  j = {{"name", o.name}, {"step_size", o.step_size}, {"gamma", o.gamma}, {"period", o.period},
       {"period_mult", o.period_mult}, {"min_factor", o.min_factor}};
}
void from_json(const nlohmann::json& j, ScheduleOptions& o) {
  o.name = j.value("name", o.name);
  o.step_size = j.value("step_size", o.step_size);
  o.gamma = j.value("gamma", o.gamma);
  o.period = j.value("period", o.period);
  o.period_mult = j.value("period_mult", o.period_mult);
  o.min_factor = j.value("min_factor", o.min_factor);
}

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

void Optimizer::step(const torch::Tensor& loss) {
  optimizer_->zero_grad();
  loss.backward();
  if (options_.clip_grad > 0) {
    last_grad_norm_ = torch::nn::utils::clip_grad_norm_(parameters_, options_.clip_grad);
  } else if (measure_grad_norm_) {
    std::vector<torch::Tensor> norms;
    for (const auto& parameter : parameters_) {
      if (parameter.grad().defined()) norms.push_back(parameter.grad().norm());
    }
    last_grad_norm_ = norms.empty() ? 0.0 : torch::stack(norms).norm().item<double>();
  }
  optimizer_->step();
}

void Optimizer::set_lr_factor(double factor) {
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(options_.lr * factor);
}

double Optimizer::lr() const { return optimizer_->param_groups().front().options().get_lr(); }

void Optimizer::save(torch::serialize::OutputArchive& archive) const { optimizer_->save(archive); }
void Optimizer::load(torch::serialize::InputArchive& archive) { optimizer_->load(archive); }

double schedule_factor(const ScheduleOptions& s, double epochs) {
  if (s.name == "none") return 1.0;
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
  fail("--schedule: expected none, step or sgdr, found '", s.name, "'");
}

}  // namespace deepgen
