// Errors that a user can act on: every message names the file or option, what was expected, what was
// found, and (where one exists) how to fix it. The CLI prints `what()` on one line and exits non-zero.
#pragma once

#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <string>

namespace deepgen {

// Bad input: a file, a folder, an option or a checkpoint that is not what it should be.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Training produced a non-finite loss. The last good checkpoint is left untouched.
class DivergenceError : public Error {
 public:
  explicit DivergenceError(const std::string& message) : Error(message) {}
};

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& out, const T& first, const Rest&... rest) {
  out << first;
  append(out, rest...);
}
}  // namespace detail

// Concatenates its arguments into one message: fail("cannot open ", path, ": ", reason).
template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream out;
  detail::append(out, parts...);
  throw Error(out.str());
}

template <typename... Parts>
void check(bool condition, const Parts&... parts) {
  if (!condition) fail(parts...);
}

// True when `value` is one of `valid`: for checking a choice before naming the valid ones in an error.
inline bool is_one_of(const std::string& value, std::initializer_list<const char*> valid) {
  for (const char* v : valid) {
    if (value == v) return true;
  }
  return false;
}

// Parses a whole string as a number, naming `what` in the error ("--lr", "field 'epoch'").
double parse_double(const std::string& text, const std::string& what);
long long parse_int(const std::string& text, const std::string& what);

}  // namespace deepgen
