// weight_difference A.pt B.pt: the largest absolute difference between the floating-point parameters
// and buffers of two deepgen checkpoints of the same model (for tests/distributed_test.sh: N ranks
// against one process). Exit 2 when they do not hold the same tensors.
#include <torch/script.h>

#include <iostream>
#include <map>

int main(int argc, char** argv) try {
  if (argc != 3) {
    std::cerr << "usage: weight_difference A.pt B.pt" << std::endl;
    return 2;
  }
  auto tensors = [](const char* path) {
    std::map<std::string, torch::Tensor> out;
    torch::jit::Module module = torch::jit::load(path, torch::kCPU);
    for (const auto& item : module.named_parameters(/*recurse=*/true)) out[item.name] = item.value;
    for (const auto& item : module.named_buffers(/*recurse=*/true)) out[item.name] = item.value;
    return out;
  };
  const auto a = tensors(argv[1]), b = tensors(argv[2]);
  double largest = 0;
  size_t compared = 0;
  for (const auto& [name, value] : a) {
    if (!value.is_floating_point()) continue;
    const auto other = b.find(name);
    if (other == b.end() || !other->second.sizes().equals(value.sizes())) {
      std::cerr << "weight_difference: " << name << " differs in shape or is missing in " << argv[2] << std::endl;
      return 2;
    }
    largest = std::max(largest, (value - other->second).abs().max().item<double>());
    ++compared;
  }
  if (compared == 0) {
    std::cerr << "weight_difference: no floating-point tensors in " << argv[1] << std::endl;
    return 2;
  }
  std::cout << largest << std::endl;
  return 0;
} catch (const c10::Error& error) {
  const std::string message = error.what_without_backtrace();
  std::cerr << "weight_difference: " << message.substr(0, message.find('\n')) << std::endl;
  return 2;
} catch (const std::exception& error) {
  std::cerr << "weight_difference: " << error.what() << std::endl;
  return 2;
}
