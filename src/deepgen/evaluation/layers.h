// The lectures' layer table (as for VGG16): for each layer of a network, its output shape, its
// parameters and the memory of its activations, with the size arithmetic of convolutions,
// transposed convolutions and pooling written out, so an architecture can be checked before training.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace deepgen {

// floor((n + 2p - k) / s) + 1: the output side of a convolution or a pooling window.
int64_t conv_output_size(int64_t n, int64_t kernel, int64_t stride, int64_t padding);
// (n - 1) s - 2p + k + output_padding: the output side of a transposed convolution.
int64_t transposed_output_size(int64_t n, int64_t kernel, int64_t stride, int64_t padding, int64_t output_padding = 0);

struct LayerRow {
  std::string layer;               // "conv 3x3/1 pad 1 -> 64", "maxpool 2x2/2", "fc 25088 -> 4096"...
  std::vector<int64_t> output;     // output shape without the batch dimension
  int64_t parameters = 0;
  int64_t activations = 0;         // values in the output, per image
  std::string arithmetic;          // "(224 + 2*1 - 3)/1 + 1 = 224" for size-changing layers
};

struct LayerTable {
  std::vector<int64_t> input;      // input shape without the batch dimension
  std::vector<LayerRow> rows;
  int64_t parameters = 0;          // all parameters of the network
  int64_t activations = 0;         // all output values of all rows, per image (forward pass)
};

// Runs one zero input of shape `input` (without batch) through the children of `layers` in order,
// on the CPU in eval mode, and describes each child.
LayerTable layer_table(torch::nn::Sequential& layers, const std::vector<int64_t>& input);

}  // namespace deepgen
