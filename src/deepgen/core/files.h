// File helpers that never leave a half-written file behind.
#pragma once

#include <string>

namespace deepgen {

// Writes `bytes` to `path` through a temporary file in the same folder, flushed to the disk (fsync),
// and a rename, so readers (and a run resumed after kill -9 or a power cut) see the old file or the
// new one, never a part. Creates missing parent folders. A failed write (a full disk) removes the
// temporary file, leaves `path` as it was and throws naming `path` and the reason.
void write_bytes_atomically(const std::string& path, const std::string& bytes);
void write_text_atomically(const std::string& path, const std::string& text);

// Appends one line (a newline is added) to `path` the same way: the file holds all of its old lines
// and the new one, or only the old ones.
void append_line_atomically(const std::string& path, const std::string& line);

// The whole of the file at `path`; throws "cannot read PATH" when it cannot be opened.
std::string read_text_file(const std::string& path);

// The temporary name used beside `path` while it is being written.
std::string temporary_path(const std::string& path);

}  // namespace deepgen
