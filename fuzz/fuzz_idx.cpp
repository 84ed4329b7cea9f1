// libFuzzer harness of the IDX reader (data/idx.h). The first byte picks how the rest is stored: even,
// as it is (the reader sees raw bytes, or gzip when they start like gzip); odd, gzip-compressed first,
// so that the IDX parser behind a valid gzip stream is reached. Errors (deepgen::Error) are the
// expected answer to bad input; anything else (a crash, another exception, a sanitizer report) is a finding.
#include <zlib.h>

#include <vector>

#include "deepgen/core/error.h"
#include "deepgen/data/idx.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Large enough for every seed, small enough that a header at the limit is read in well under a second.
  setenv("DEEPGEN_MAX_DATA_BYTES", "16777216", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string path;
  if (data[0] % 2 == 0) {
    path = deepgen::fuzz::write_input(data + 1, size - 1, "raw-idx3-ubyte");
  } else {
    path = (deepgen::fuzz::scratch_dir() / "idx3-ubyte.gz").string();
    gzFile file = gzopen(path.c_str(), "wb");
    if (size > 1) gzwrite(file, data + 1, unsigned(size - 1));
    gzclose(file);
  }
  try {
    const auto tensor = deepgen::read_idx(path);
    if (tensor.numel() > 0) (void)tensor.sum().item<int64_t>();  // every byte readable
  } catch (const deepgen::Error&) {
  }
  return 0;
}
