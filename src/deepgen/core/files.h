// File helpers that never leave a half-written file behind.
#pragma once

#include <string>

namespace deepgen {

// Writes `text` to `path` through a temporary file in the same folder and a rename, so readers see
// the old file or the new one, never a part. Creates missing parent folders.
void write_text_atomically(const std::string& path, const std::string& text);

// The temporary name used beside `path` while it is being written.
std::string temporary_path(const std::string& path);

}  // namespace deepgen
