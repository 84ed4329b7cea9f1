#include "deepgen/evaluation/layers.h"

#include <sstream>

#include "deepgen/core/error.h"
#include "deepgen/nn/batch_norm.h"

namespace deepgen {
namespace nn = torch::nn;

int64_t conv_output_size(int64_t n, int64_t kernel, int64_t stride, int64_t padding) {
  return (n + 2 * padding - kernel) / stride + 1;
}

int64_t transposed_output_size(int64_t n, int64_t kernel, int64_t stride, int64_t padding, int64_t output_padding) {
  return (n - 1) * stride - 2 * padding + kernel + output_padding;
}

namespace {

int64_t count_parameters(nn::Module& module) {
  int64_t count = 0;
  for (const auto& p : module.parameters()) count += p.numel();
  return count;
}

std::string conv_arithmetic(int64_t n, int64_t k, int64_t s, int64_t p) {
  std::ostringstream out;
  out << "(" << n << " + 2*" << p << " - " << k << ")/" << s << " + 1 = " << conv_output_size(n, k, s, p);
  return out.str();
}

// The smallest padding for which the convolution formula gives the side that was measured. (Reading
// it from the options would need c10::variant in LibTorch 1.13 and std::variant in 2.x.)
int64_t padding_for(int64_t n, int64_t out, int64_t k, int64_t s) {
  for (int64_t p = 0; p <= k; ++p) {
    if (conv_output_size(n, k, s, p) == out) return p;
  }
  return 0;
}

// A short name for a child module, and its size arithmetic where it changes the spatial size.
void describe(const std::shared_ptr<nn::Module>& child, const torch::Tensor& input, const torch::Tensor& output,
              LayerRow& row) {
  std::ostringstream name;
  const int64_t side = input.dim() == 4 ? input.size(2) : 0;
  const int64_t out_side = output.dim() == 4 ? output.size(2) : 0;
  if (auto* conv = child->as<nn::Conv2d>()) {
    const auto& o = conv->options;
    const int64_t k = (*o.kernel_size())[0], s = (*o.stride())[0];
    const int64_t p = padding_for(side, out_side, k, s);
    name << "conv " << k << "x" << k << "/" << s << " pad " << p << " -> " << o.out_channels();
    row.arithmetic = conv_arithmetic(side, k, s, p);
  } else if (auto* deconv = child->as<nn::ConvTranspose2d>()) {
    const auto& o = deconv->options;
    const int64_t k = (*o.kernel_size())[0], s = (*o.stride())[0], op = (*o.output_padding())[0];
    const int64_t p = ((side - 1) * s + k + op - out_side) / 2;  // from the measured side, as for conv
    name << "transposed conv " << k << "x" << k << "/" << s << " pad " << p << " -> " << o.out_channels();
    std::ostringstream math;
    math << "(" << side << " - 1)*" << s << " - 2*" << p << " + " << k << (op ? " + " + std::to_string(op) : "")
         << " = " << transposed_output_size(side, k, s, p, op);
    row.arithmetic = math.str();
  } else if (auto* pool = child->as<nn::MaxPool2d>()) {
    const auto& o = pool->options;
    const int64_t k = (*o.kernel_size())[0], s = (*o.stride())[0], p = (*o.padding())[0];
    name << "maxpool " << k << "x" << k << "/" << s;
    row.arithmetic = conv_arithmetic(side, k, s, p);
  } else if (auto* linear = child->as<nn::Linear>()) {
    name << "fc " << linear->options.in_features() << " -> " << linear->options.out_features();
  } else if (child->as<SyncBatchNorm>() != nullptr) {  // every model's batch norm (nn/batch_norm.h)
    name << "BatchNorm";
  } else {
    std::string type = child->name();  // e.g. "deepgen::ResidualBlockImpl"
    type = type.substr(type.rfind(':') + 1);
    if (type.size() > 4 && type.compare(type.size() - 4, 4, "Impl") == 0) type.resize(type.size() - 4);
    name << type;
  }
  row.layer = name.str();
}

}  // namespace

LayerTable layer_table(nn::Sequential& layers, const std::vector<int64_t>& input) {
  torch::NoGradGuard no_grad;
  layers->eval();
  LayerTable table;
  table.input = input;
  std::vector<int64_t> shape = {1};
  shape.insert(shape.end(), input.begin(), input.end());
  auto x = torch::zeros(shape);
  size_t i = 0;
  for (auto& module : *layers) {
    const auto child = module.ptr();
    LayerRow row;
    torch::Tensor y;
    try {
      y = module.forward(x);
    } catch (const c10::Error& error) {
      const std::string message = error.what_without_backtrace();
      fail("layer ", i, " (", child->name(), ") cannot take an input of shape ", x.sizes(), ": ",
           message.substr(0, message.find('\n')));
    }
    describe(child, x, y, row);
    x = y;
    row.output = x.sizes().vec();
    row.output.erase(row.output.begin());
    row.parameters = count_parameters(*child);
    row.activations = x.numel();
    table.activations += row.activations;
    table.rows.push_back(row);
    ++i;
  }
  table.parameters = count_parameters(*layers);
  return table;
}

}  // namespace deepgen
