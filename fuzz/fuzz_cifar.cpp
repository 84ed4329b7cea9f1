// libFuzzer harness of the CIFAR-10 binary batch reader (data/dataset.h: read_cifar10).
#include "deepgen/core/error.h"
#include "deepgen/data/dataset.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = deepgen::fuzz::write_input(data, size, "data_batch_1.bin");
  try {
    auto [images, labels] = deepgen::read_cifar10(path);
    if (images.size(0) != labels.size(0) || images.size(0) * 3073 != int64_t(size)) __builtin_trap();
  } catch (const deepgen::Error&) {
  }
  return 0;
}
