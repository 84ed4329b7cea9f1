// Batch normalization that can compute its batch statistics over every rank of a data-parallel run
// (`deepgen train --sync-bn`, PyTorch's SyncBatchNorm). Every model builds its batch norms with this
// module: the parameters, buffers and checkpoint names of LibTorch's BatchNorm1d/2d (weight, bias,
// running_mean, running_var, num_batches_tracked) and, unless synchronizing, the same computation
// (LibTorch's functional batch_norm). While synchronization is on, in training mode and with more than
// one rank, it sums each channel's count, sum and sum of squares over the ranks (one all-reduce in the
// forward pass, one in the backward pass), so the model normalizes as one process with the whole global
// batch would. Otherwise each rank normalizes with its own slice's statistics (DistributedDataParallel's
// default).
// (Not a subclass of LibTorch's BatchNorm2dImpl: LibTorch 1.13 does not export what a subclass's vtable
// needs.)
#pragma once

#include <torch/torch.h>

#include <ostream>

namespace deepgen {

// Process-wide, set by the trainer from --sync-bn for the run it trains.
void set_sync_batch_norm(bool on);
bool sync_batch_norm();

// For (N, C) and (N, C, ...) inputs: BatchNorm1d and BatchNorm2d alike.
class SyncBatchNormImpl : public torch::nn::Cloneable<SyncBatchNormImpl> {
 public:
  explicit SyncBatchNormImpl(int64_t features) : SyncBatchNormImpl(torch::nn::BatchNormOptions(features)) {}
  explicit SyncBatchNormImpl(const torch::nn::BatchNormOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& input);
  void pretty_print(std::ostream& stream) const override;

  torch::nn::BatchNormOptions options;
  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;
};
TORCH_MODULE(SyncBatchNorm);

// The synchronized computation itself, for (N, C, ...) inputs: normalizes with the global batch's
// statistics and updates the running ones with them (in a world of one: batch norm's training step).
torch::Tensor synchronized_batch_norm(const torch::Tensor& input, const torch::nn::BatchNormOptions& options,
                                      const torch::Tensor& weight, const torch::Tensor& bias,
                                      torch::Tensor& running_mean, torch::Tensor& running_var,
                                      torch::Tensor& batches_tracked);

}  // namespace deepgen
