// Options declared once. Each field of an options struct is declared with its JSON key, its command-line
// flag, its default (the struct's own), a help text, its valid values and the variants it applies to.
// Everything else follows from the declarations: JSON in and out (an unknown key is an error that lists
// the valid ones), the command-line flags and their help (src/cli), the checks of a given value, and the
// "this option does not apply to that variant" errors. After LLVM's cl::opt and gflags: an option is
// declared next to the code that reads it, and nowhere else.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace deepgen {

enum class OptionType {
  kInteger,   // int64_t
  kReal,      // double
  kText,      // std::string, optionally one of `choices`
  kFlag,      // bool: the flag sets it (or clears it, when `negated`)
  kRealList,  // std::vector<double> of `list_size` numbers (a command-line-only option)
  kNested,    // a struct with its own to_json/from_json (the optimizer); not a command-line option
  kTextList,  // std::vector<std::string> (a vocabulary); set from the data
};

// The JSON of options as given (e.g. from the command line), over the full options with defaults.
struct OptionContext {
  const nlohmann::json& options;  // every field, given values over defaults
  const nlohmann::json& given;    // only the fields given
};

struct OptionField {
  std::string key;    // JSON key: "latent_dim"
  std::string flag;   // command-line flag: "--latent-dim"; empty when the data sets it (channels, classes)
  std::string help;   // one line for --help
  OptionType type = OptionType::kText;
  nlohmann::json default_value;      // as in a default-constructed options struct
  std::vector<std::string> choices;  // kText: the valid values (empty: any text)
  double min = -std::numeric_limits<double>::infinity();  // numeric range, inclusive
  double max = std::numeric_limits<double>::infinity();
  bool positive = false;             // numbers: > 0 (min is then ignored)
  size_t list_size = 0;              // kRealList: how many numbers the flag takes
  std::string list_names;            // kRealList: what they are, for --help ("MIN MAX")
  bool negated = false;              // kFlag: --no-batch-norm clears batch_norm
  std::string off_flag;              // kFlag: a second flag that clears it ("--unidirectional")
  bool recorded = true;              // false: read from the command line only, not written to JSON
  // Empty when the field shapes the model these options describe; otherwise what it needs, e.g.
  // "--variant sparse" (the CLI says: "only used with --variant sparse, so here it would be ignored").
  std::function<std::string(const OptionContext&)> scope;

  // The value of a command-line text, checked: "--latent-dim: expected a number > 0, found 'x'".
  nlohmann::json parse(const std::string& text) const;
  nlohmann::json parse(const std::vector<std::string>& texts) const;  // kRealList
  // Checks a value read from JSON or the command line against type, range and choices.
  void check(const nlohmann::json& value) const;
  // "--latent-dim" or, for a field that has no flag, its key.
  std::string name() const { return flag.empty() ? key : flag; }
};

// The declarations of one options struct T, built with chained calls in the file that owns T:
//   OptionSchema<VaeOptions>()
//       .choice("arch", &VaeOptions::arch, {"dense", "conv"}, "dense or conv")
//       .positive("latent_dim", &VaeOptions::latent_dim, "Size of z")
//       .from_data("channels", &VaeOptions::channels);
class OptionSchemaBase {
 public:
  const std::vector<OptionField>& fields() const { return fields_; }
  const OptionField* find(const std::string& key) const;
  // The valid keys, for error messages: "arch, latent_dim, hidden, beta, optimizer".
  std::string keys() const;
  // Fails naming the first key of `json` that is not declared, listing the valid ones. `what` names the
  // holder: "model options of 'vae'".
  void reject_unknown(const nlohmann::json& json, const std::string& what) const;
  // The scope errors of the fields given on the command line: "" when all apply, else the message.
  std::string out_of_scope(const nlohmann::json& options, const nlohmann::json& given, const std::string& command) const;

 protected:
  std::vector<OptionField> fields_;
};

template <class T>
class OptionSchema : public OptionSchemaBase {
 public:
  using Scope = std::function<std::string(const OptionContext&)>;

  template <class V>
  OptionSchema& add(OptionField field, V T::*member) {
    static const T defaults{};
    field.default_value = nlohmann::json(defaults.*member);
    fields_.push_back(std::move(field));
    setters_.push_back([member](T& object, const nlohmann::json& value) {
      if constexpr (kind_of<V>() == OptionType::kNested) {
        nlohmann::adl_serializer<V>::from_json(value, object.*member);  // merges: missing keys keep their values
      } else {
        object.*member = value.get<V>();
      }
    });
    getters_.push_back([member](const T& object) { return nlohmann::json(object.*member); });
    return *this;
  }
  // A field whose value is written by a function (one flag that sets two fields, --sigma-range MIN MAX).
  OptionSchema& add(OptionField field, std::function<void(T&, const nlohmann::json&)> set) {
    field.recorded = false;
    fields_.push_back(std::move(field));
    setters_.push_back(std::move(set));
    getters_.push_back(nullptr);
    return *this;
  }

  // Shorthands for the common kinds. `flag` defaults to --key with '_' as '-'.
  template <class V>
  OptionSchema& number(const std::string& key, V T::*member, const std::string& help, double min = 0,
                       double max = std::numeric_limits<double>::infinity()) {
    return add(make(key, help, kind_of<V>(), [&](OptionField& f) { f.min = min, f.max = max; }), member);
  }
  template <class V>
  OptionSchema& positive(const std::string& key, V T::*member, const std::string& help) {
    return add(make(key, help, kind_of<V>(), [](OptionField& f) { f.positive = true; }), member);
  }
  OptionSchema& choice(const std::string& key, std::string T::*member, std::vector<std::string> choices,
                       const std::string& help) {
    return add(make(key, help, OptionType::kText, [&](OptionField& f) { f.choices = std::move(choices); }), member);
  }
  OptionSchema& text(const std::string& key, std::string T::*member, const std::string& help) {
    return add(make(key, help, OptionType::kText, [](OptionField&) {}), member);
  }
  OptionSchema& flag(const std::string& key, bool T::*member, const std::string& help) {
    return add(make(key, help, OptionType::kFlag, [](OptionField&) {}), member);
  }
  // Set from the data (channels, image size, classes, vocabulary): in JSON, never a flag.
  template <class V>
  OptionSchema& from_data(const std::string& key, V T::*member) {
    return add(make(key, "", kind_of<V>(), [](OptionField& f) { f.flag.clear(); }), member);
  }
  template <class V>
  OptionSchema& nested(const std::string& key, V T::*member) {
    return add(make(key, "", OptionType::kNested, [](OptionField& f) { f.flag.clear(); }), member);
  }
  // Changes the last field declared: its flag, its scope, or anything else.
  OptionSchema& with(const std::function<void(OptionField&)>& change) {
    change(fields_.back());
    return *this;
  }
  OptionSchema& scope(Scope scope) { return with([&](OptionField& f) { f.scope = std::move(scope); }); }

  nlohmann::json to_json(const T& object) const {
    nlohmann::json json = nlohmann::json::object();
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (fields_[i].recorded) json[fields_[i].key] = getters_[i](object);
    }
    return json;
  }
  // Missing keys keep the values `object` has (its defaults); an unknown key or a value of the wrong
  // type or out of range is an error naming it.
  void from_json(const nlohmann::json& json, T& object, const std::string& what) const {
    if (json.is_null()) return;
    if (!json.is_object()) throw_type(what, json);
    reject_unknown(json, what);
    for (size_t i = 0; i < fields_.size(); ++i) {
      const auto it = json.find(fields_[i].key);
      if (it == json.end() || it->is_null()) continue;
      fields_[i].check(*it);
      setters_[i](object, *it);
    }
  }

 private:
  template <class V>
  static constexpr OptionType kind_of() {
    if constexpr (std::is_same_v<V, bool>) return OptionType::kFlag;
    else if constexpr (std::is_integral_v<V>) return OptionType::kInteger;
    else if constexpr (std::is_floating_point_v<V>) return OptionType::kReal;
    else if constexpr (std::is_same_v<V, std::string>) return OptionType::kText;
    else if constexpr (std::is_same_v<V, std::vector<std::string>>) return OptionType::kTextList;
    else if constexpr (std::is_same_v<V, std::vector<double>>) return OptionType::kRealList;
    else return OptionType::kNested;
  }
  static OptionField make(const std::string& key, const std::string& help, OptionType type,
                          const std::function<void(OptionField&)>& change) {
    OptionField field;
    field.key = key;
    field.flag = "--" + key;
    for (char& c : field.flag) c = c == '_' ? '-' : c;
    field.help = help;
    field.type = type;
    change(field);
    return field;
  }
  [[noreturn]] static void throw_type(const std::string& what, const nlohmann::json& json);

  std::vector<std::function<void(T&, const nlohmann::json&)>> setters_;
  std::vector<std::function<nlohmann::json(const T&)>> getters_;
};

[[noreturn]] void fail_options_not_object(const std::string& what, const nlohmann::json& json);
template <class T>
void OptionSchema<T>::throw_type(const std::string& what, const nlohmann::json& json) {
  fail_options_not_object(what, json);
}

// "did you mean --latent-dim?" for a misspelled name among `candidates` (edit distance at most a third
// of the name's length, at least 1); empty when none is close.
std::string closest_match(const std::string& name, const std::vector<std::string>& candidates);

// A JSON value as text for a message; bytes that are not UTF-8 (a flag or file from anywhere) become
// U+FFFD instead of making the message itself throw (found by fuzz_cli).
std::string shown(const nlohmann::json& value);

}  // namespace deepgen
