// Reader for the IDX format of the MNIST family (MNIST, Fashion-MNIST, KMNIST, EMNIST...), raw or
// gzip'ed. Format: 2 zero bytes, a type byte (0x08 = unsigned byte), a byte with the number of
// dimensions, one big-endian int32 per dimension, then the data in row-major order.
#pragma once

#include <torch/torch.h>

#include <string>

namespace deepgen {

// Reads an unsigned-byte IDX file whole and checks it byte for byte: magic, type, dimension count and
// sizes, and that the data is exactly as long as the dimensions say (truncated or padded files are
// rejected). Returns a uint8 tensor shaped like the file's dimensions. Throws deepgen::Error naming the
// file, the expected and the found value.
torch::Tensor read_idx(const std::string& path);

// The four standard files of an MNIST-style folder, with or without .gz.
struct IdxFiles {
  std::string train_images, train_labels, test_images, test_labels;
};

// True when `dir` holds at least the training images of an MNIST-style data set.
bool looks_like_idx_folder(const std::string& dir);

// Finds the four files in `dir`; throws listing the expected names if any is missing.
IdxFiles find_idx_files(const std::string& dir);

}  // namespace deepgen
