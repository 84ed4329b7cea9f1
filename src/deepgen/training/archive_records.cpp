#include "deepgen/training/archive_records.h"

#include <cstdint>
#include <regex>

namespace deepgen {

namespace {

// Shows at most 60 characters of a line, escaping what is not printable ASCII.
std::string printable(const std::string& line) {
  std::string out;
  for (const char c : line.substr(0, 60)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 15];
    }
  }
  return line.size() > 60 ? out + "..." : out;
}

}  // namespace

std::string torchscript_record_problem(const std::string& text) {
  // The types LibTorch declares for a deepgen archive's attributes.
  static const std::string kScalar = "(?:Tensor|int|float|str|bool)";
  static const std::string kType = "(?:" + kScalar + "|(?:Tuple|List|Optional)\\[" + kScalar + "(?:, " + kScalar +
                                   ")*\\]|__torch__(?:\\.___torch_mangle_[0-9]{1,9})?\\.Module)";
  // Names in quotes: printable ASCII without quotes or backslashes.
  static const std::string kQuoted = "\"[ !#-\\[\\]-~]*\"";
  static const std::regex kLines[] = {
      std::regex("  __(?:parameters|buffers)__ = \\[(?:" + kQuoted + ", )*\\]"),
      std::regex("  __annotations__ = \\[\\]"),
      std::regex("  __annotations__\\[" + kQuoted + "\\] = " + kType),
      std::regex("  [A-Za-z_][A-Za-z0-9_]{0,200} : " + kType),
  };
  size_t start = 0;
  for (int number = 1; start < text.size(); ++number) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    bool ok = false;
    if (number == 1) {
      ok = line == "class Module(Module):";
    } else if (line.empty()) {
      ok = text.find_first_not_of('\n', start - 1) == std::string::npos;  // only blank lines may follow
    } else if (line.size() <= 4096) {
      for (const auto& pattern : kLines) ok = ok || std::regex_match(line, pattern);
    }
    if (!ok) {
      return "line " + std::to_string(number) + " '" + printable(line) + "'" +
             (number == 1 ? " instead of 'class Module(Module):'"
                          : " is not a declaration of a parameter, buffer or attribute");
    }
  }
  return text.empty() ? "an empty record" : "";
}

namespace {

// What a pickle value is, as far as the unpickler's stack discipline is concerned.
enum class Kind { kGlobal, kTuple, kList, kDict, kString, kInt, kFloat, kBool, kNone, kObject };

struct Item {
  Kind kind;
  std::string global;  // kGlobal: "module name"
};

// The globals LibTorch's pickler writes for an archive of modules and tensors.
bool known_global(const std::string& name) {
  static const std::regex kGlobals(
      "__torch__(?:\\.___torch_mangle_[0-9]{1,9})? Module|torch\\._utils _rebuild_tensor_v2|collections OrderedDict|"
      "torch\\.jit\\._pickle build_(?:intlist|doublelist|boollist|tensorlist|genericlist)|"
      "torch (?:Float|Double|Half|BFloat16|Long|Int|Short|Char|Byte|Bool|ComplexFloat|ComplexDouble)Storage");
  return name.size() <= 256 && std::regex_match(name, kGlobals);
}

class PickleChecker {
 public:
  explicit PickleChecker(const std::string& bytes) : bytes_(bytes) {}

  std::string run() {
    if (bytes_.size() < 2 || uint8_t(bytes_[0]) != 0x80 || bytes_[1] != 2) return at(0, "it does not start with PROTO 2");
    pos_ = 2;
    while (pos_ < bytes_.size()) {
      const size_t op_at = pos_;
      const auto op = uint8_t(bytes_[pos_++]);
      std::string problem = step(op);
      if (!problem.empty()) return at(op_at, problem);
      if (op == '.') {
        if (stack_.size() != 1 || !marks_.empty()) return at(op_at, "STOP leaves " + std::to_string(stack_.size()) + " values and " + std::to_string(marks_.size()) + " marks, expected one value");
        if (pos_ != bytes_.size()) return at(pos_, std::to_string(bytes_.size() - pos_) + " bytes after STOP");
        return "";
      }
    }
    return at(pos_, "it ends without STOP");
  }

 private:
  static std::string at(size_t offset, const std::string& what) { return "byte " + std::to_string(offset) + ": " + what; }

  bool take(size_t count, const char** out) {
    if (bytes_.size() - pos_ < count) return false;
    *out = bytes_.data() + pos_;
    pos_ += count;
    return true;
  }

  uint32_t little(const char* p, int count) {
    uint32_t value = 0;
    for (int k = count - 1; k >= 0; --k) value = (value << 8) | uint8_t(p[k]);
    return value;
  }

  void push(Kind kind) { stack_.push_back({kind, {}}); }

  // Pops the values down to the last mark.
  bool pop_mark(size_t* count) {
    if (marks_.empty() || marks_.back() > stack_.size()) return false;
    *count = stack_.size() - marks_.back();
    stack_.resize(marks_.back());
    marks_.pop_back();
    return true;
  }

  // Depth available to pops: the values above the last mark (a pop may not cross it).
  size_t depth() const { return stack_.size() - (marks_.empty() ? 0 : marks_.back()); }

  std::string step(uint8_t op) {
    const char* arg = nullptr;
    switch (op) {
      case '.':  // STOP
        return "";
      case '(':  // MARK
        marks_.push_back(stack_.size());
        return "";
      case ')': push(Kind::kTuple); return "";
      case ']': push(Kind::kList); return "";
      case '}': push(Kind::kDict); return "";
      case 'N': push(Kind::kNone); return "";
      case 0x88: case 0x89: push(Kind::kBool); return "";
      case 'K': if (!take(1, &arg)) return "BININT1 runs past the end"; push(Kind::kInt); return "";
      case 'M': if (!take(2, &arg)) return "BININT2 runs past the end"; push(Kind::kInt); return "";
      case 'J': if (!take(4, &arg)) return "BININT runs past the end"; push(Kind::kInt); return "";
      case 'G': if (!take(8, &arg)) return "BINFLOAT runs past the end"; push(Kind::kFloat); return "";
      case 0x8a: {  // LONG1
        if (!take(1, &arg)) return "LONG1 runs past the end";
        const size_t length = uint8_t(*arg);
        if (length > 8) return "LONG1 of " + std::to_string(length) + " bytes (at most 8)";
        if (!take(length, &arg)) return "LONG1 runs past the end";
        push(Kind::kInt);
        return "";
      }
      case 'X': {  // BINUNICODE
        if (!take(4, &arg)) return "BINUNICODE runs past the end";
        const uint32_t length = little(arg, 4);
        if (!take(length, &arg)) return "BINUNICODE of " + std::to_string(length) + " bytes runs past the end";
        push(Kind::kString);
        return "";
      }
      case 'c': {  // GLOBAL: "module\nname\n"
        std::string name;
        for (int line = 0; line < 2; ++line) {
          const size_t end = bytes_.find('\n', pos_);
          if (end == std::string::npos) return "GLOBAL runs past the end";
          name += (line ? " " : "") + bytes_.substr(pos_, end - pos_);
          pos_ = end + 1;
        }
        if (!known_global(name)) return "GLOBAL '" + printable(name) + "' is not one of a tensor archive";
        stack_.push_back({Kind::kGlobal, name});
        return "";
      }
      case 'q': case 'r': {  // BINPUT, LONG_BINPUT
        if (!take(op == 'q' ? 1 : 4, &arg)) return "BINPUT runs past the end";
        const uint32_t id = little(arg, op == 'q' ? 1 : 4);
        if (stack_.empty()) return "BINPUT with an empty stack";
        if (id > memo_.size()) return "BINPUT " + std::to_string(id) + " skips memo ids (" + std::to_string(memo_.size()) + " put)";
        if (id == memo_.size()) memo_.push_back(stack_.back()); else memo_[id] = stack_.back();
        return "";
      }
      case 'h': case 'j': {  // BINGET, LONG_BINGET
        if (!take(op == 'h' ? 1 : 4, &arg)) return "BINGET runs past the end";
        const uint32_t id = little(arg, op == 'h' ? 1 : 4);
        if (id >= memo_.size()) return "BINGET " + std::to_string(id) + " before it was put";
        stack_.push_back(memo_[id]);
        return "";
      }
      case 't': {  // TUPLE
        size_t count = 0;
        if (!pop_mark(&count)) return "TUPLE without a MARK";
        push(Kind::kTuple);
        return "";
      }
      case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
        const size_t count = size_t(op - 0x84);
        if (depth() < count) return "TUPLE" + std::to_string(count) + " with " + std::to_string(depth()) + " values";
        stack_.resize(stack_.size() - count);
        push(Kind::kTuple);
        return "";
      }
      case 'e': case 'u': {  // APPENDS, SETITEMS
        if (marks_.empty()) return std::string(op == 'e' ? "APPENDS" : "SETITEMS") + " without a MARK";
        const size_t base = marks_.back();
        if (base == 0 || base > stack_.size()) return "nothing below the MARK to fill";
        const Kind target = stack_[base - 1].kind;
        size_t count = 0;
        pop_mark(&count);
        if (op == 'e' && target != Kind::kList) return "APPENDS into something that is not a list";
        if (op == 'u' && (target != Kind::kDict || count % 2 != 0)) return "SETITEMS into something that is not a dict, or an odd count";
        return "";
      }
      case 'a': case 's': {  // APPEND, SETITEM
        const size_t count = op == 'a' ? 1 : 2;
        if (depth() < count + 1) return std::string(op == 'a' ? "APPEND" : "SETITEM") + " with too few values";
        stack_.resize(stack_.size() - count);
        if (stack_.back().kind != (op == 'a' ? Kind::kList : Kind::kDict)) return "APPEND/SETITEM into the wrong kind";
        return "";
      }
      case 'Q': {  // BINPERSID: a tensor's storage, from its key tuple
        if (depth() < 1 || stack_.back().kind != Kind::kTuple) return "BINPERSID without a tuple";
        stack_.back() = {Kind::kObject, {}};
        return "";
      }
      case 'R': case 0x81: {  // REDUCE, NEWOBJ: callable, arguments
        if (depth() < 2) return std::string(op == 'R' ? "REDUCE" : "NEWOBJ") + " with too few values";
        const Item args = stack_.back();
        stack_.pop_back();
        const Item callable = stack_.back();
        stack_.pop_back();
        if (callable.kind != Kind::kGlobal || args.kind != Kind::kTuple) return std::string(op == 'R' ? "REDUCE" : "NEWOBJ") + " of something that is not a GLOBAL with a tuple";
        Kind result = Kind::kObject;
        if (callable.global == "collections OrderedDict") result = Kind::kDict;
        if (callable.global.rfind("torch.jit._pickle build_", 0) == 0) result = Kind::kList;
        push(result);
        return "";
      }
      case 'b': {  // BUILD: object, state
        if (depth() < 2) return "BUILD with too few values";
        stack_.pop_back();
        if (stack_.back().kind != Kind::kObject) return "BUILD of something that is not an object";
        return "";
      }
      default: {
        static const char* hex = "0123456789abcdef";
        return std::string("opcode 0x") + hex[op >> 4] + hex[op & 15] + " is not one LibTorch writes for a checkpoint";
      }
    }
  }

  const std::string& bytes_;
  size_t pos_ = 0;
  std::vector<Item> stack_;
  std::vector<size_t> marks_;
  std::vector<Item> memo_;
};

}  // namespace

std::string pickle_problem(const std::string& bytes) { return PickleChecker(bytes).run(); }

std::vector<ZipEntryRule> checkpoint_record_rules() {
  // The debug record LibTorch writes beside each code record (an empty source-range table).
  static const std::string kDebugRecord(
      "\x80""\x02""X\x18""\x00""\x00""\x00""FORMAT_WITH_STRING_TABLEq\x00""X\x00""\x00""\x00""\x00""q\x01""\x85""q\x02""K\x00""ctorch.jit._pickle\x0a""build_intlist\x0a""q\x03""(](etRK\x00""K\x00""\x87""q\x04""K\x00""K\x00""\x87""K\x00""\x87""\x85""q\x05""\x87"".",
      106);
  const auto digits = [](size_t most) {
    return [most](const std::string& content) -> std::string {
      std::string number = content;
      if (!number.empty() && number.back() == '\n') number.pop_back();
      const bool ok = !number.empty() && number.size() <= most &&
                      number.find_first_not_of("0123456789") == std::string::npos;
      return ok ? "" : "'" + printable(content) + "'";
    };
  };
  const auto exactly = [](std::string expected) {
    return [expected](const std::string& content) -> std::string {
      return content == expected ? "" : std::to_string(content.size()) + " bytes that differ from LibTorch's " +
                                            std::to_string(expected.size());
    };
  };
  return {
      {".py.debug_pkl", "the debug record LibTorch writes", exactly(kDebugRecord)},
      {".py", "the TorchScript declaration LibTorch writes for a module", torchscript_record_problem},
      {"/data.pkl", "a pickle LibTorch writes for a module tree", pickle_problem},
      // deepgen's archives hold no TorchScript constants: LibTorch writes the pickle of an empty tuple.
      {"/constants.pkl", "the record LibTorch writes for no constants", exactly(std::string("\x80\x02).", 4))},
      {"/version", "a format version number", digits(3)},
      {"/.data/serialization_id", "a serialization id", digits(64)},
      {"/byteorder", "a byte order",
       [](const std::string& content) -> std::string {
         return content == "little" || content == "big" ? "" : "'" + printable(content) + "'";
       }},
  };
}

}  // namespace deepgen
