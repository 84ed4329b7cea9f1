// Limits on what an input file may make deepgen allocate, so that a hostile or broken file (an IDX
// header claiming 10^12 items, a gzip bomb, a PNG declaring 60000x60000 pixels) is refused before the
// allocation with a message naming the limit and how to raise it. Each limit is read from an
// environment variable (the readers sit below every command, so no single CLI option reaches them all);
// docs/robustness.md lists them.
#pragma once

#include <cstdint>
#include <string>

namespace deepgen {

struct Limit {
  const char* variable;   // the environment variable that raises it, e.g. "DEEPGEN_MAX_IMAGE_PIXELS"
  int64_t default_value;  // used when the variable is unset
  const char* unit;       // "pixels", "bytes"
};

// Decoded pixels (width x height) of one image: 200 megapixels, above a 50-megapixel photo, which the
// restoration commands tile. stb needs 3-4 bytes a pixel, so the default caps one image near 800 MB.
constexpr Limit kMaxImagePixels{"DEEPGEN_MAX_IMAGE_PIXELS", 200'000'000, "pixels"};
// Data bytes of one IDX file (after gunzip) or one CIFAR batch file: 4 GiB (EMNIST ByClass, the largest
// MNIST-style set, is 0.6 GB).
constexpr Limit kMaxDataBytes{"DEEPGEN_MAX_DATA_BYTES", int64_t(4) << 30, "bytes"};
// Bytes of a text corpus file: 256 MiB (each character is held as its own string, tens of bytes).
constexpr Limit kMaxTextBytes{"DEEPGEN_MAX_TEXT_BYTES", int64_t(256) << 20, "bytes"};

// The limit's value: its environment variable when set (a positive integer; anything else throws
// naming the variable), else its default.
int64_t limit_value(const Limit& limit);

// How to raise it, for error messages: "the limit is 200000000 pixels; set DEEPGEN_MAX_IMAGE_PIXELS to
// raise it".
std::string limit_hint(const Limit& limit);

}  // namespace deepgen
