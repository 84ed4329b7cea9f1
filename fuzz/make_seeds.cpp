// Writes the seed corpora of the fuzz harnesses into OUT/<harness>/: small valid files of every format
// each harness reads, made here (stb_image_write for the images, zlib, deepgen's own checkpoints from
// tests/fixtures), so no third-party file is needed. Usage: fuzz_seeds OUT FIXTURES_DIR
// stb_image_write compiled here, static and without UBSan: its JPEG encoder shifts negative values
// (UBSan: "left shift of negative value" in stb_image_write.h), and deepgen itself never writes JPEG.
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#include <zip.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

namespace {
fs::path out_dir;

void write(const std::string& harness, const std::string& name, const Bytes& bytes) {
  fs::create_directories(out_dir / harness);
  std::ofstream(out_dir / harness / name, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                                   std::streamsize(bytes.size()));
}

Bytes with_mode(uint8_t mode, const Bytes& bytes) {
  Bytes out = {mode};
  out.insert(out.end(), bytes.begin(), bytes.end());
  return out;
}

Bytes read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

Bytes idx(const std::vector<uint32_t>& dims, uint8_t fill) {
  Bytes bytes = {0, 0, 0x08, uint8_t(dims.size())};
  size_t count = 1;
  for (uint32_t d : dims) {
    bytes.insert(bytes.end(), {uint8_t(d >> 24), uint8_t(d >> 16), uint8_t(d >> 8), uint8_t(d)});
    count *= d;
  }
  for (size_t k = 0; k < count; ++k) bytes.push_back(uint8_t(fill + k));
  return bytes;
}

Bytes gzip(const Bytes& bytes) {
  const fs::path temporary = out_dir / "tmp.gz";
  gzFile file = gzopen(temporary.c_str(), "wb");
  gzwrite(file, bytes.data(), unsigned(bytes.size()));
  gzclose(file);
  Bytes result = read(temporary);
  fs::remove(temporary);
  return result;
}

// An image file written by one of stb_image_write's functions (they write to a path).
template <typename Writer>
Bytes image_file(Writer writer) {
  const fs::path temporary = out_dir / "tmp.img";
  writer(temporary.c_str());
  Bytes result = read(temporary);
  fs::remove(temporary);
  return result;
}

Bytes pixels(int width, int height, int channels) {
  Bytes p(size_t(width * height * channels));
  for (size_t k = 0; k < p.size(); ++k) p[k] = uint8_t(k * 37);
  return p;
}

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

// The entry of a zip archive whose name ends in `suffix`.
Bytes zip_entry(const fs::path& archive_path, const std::string& suffix) {
  int code = 0;
  zip_t* archive = zip_open(archive_path.c_str(), ZIP_RDONLY, &code);
  Bytes bytes;
  for (zip_int64_t k = 0; archive && k < zip_get_num_entries(archive, 0); ++k) {
    const std::string name = zip_get_name(archive, zip_uint64_t(k), 0);
    if (name.size() < suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    zip_stat_t stat;
    zip_stat_index(archive, zip_uint64_t(k), 0, &stat);
    bytes.resize(stat.size);
    zip_file_t* file = zip_fopen_index(archive, zip_uint64_t(k), 0);
    zip_fread(file, bytes.data(), bytes.size());
    zip_fclose(file);
  }
  if (archive) zip_discard(archive);
  return bytes;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: fuzz_seeds OUT FIXTURES_DIR\n";
    return 2;
  }
  out_dir = argv[1];
  const fs::path fixtures = argv[2];
  fs::create_directories(out_dir);

  // IDX: mode byte 0 = the file as it is, 1 = gzip'ed by the harness.
  write("idx", "images-raw", with_mode(0, idx({3, 4, 5}, 0)));
  write("idx", "labels-raw", with_mode(0, idx({10}, 0)));
  write("idx", "images-gzip", with_mode(1, idx({2, 28, 28}, 7)));
  write("idx", "images-gzipped-file", with_mode(0, gzip(idx({4, 2, 2, 3}, 1))));

  // Images: PNG (gray, gray+alpha, RGB, RGBA), BMP, TGA, JPEG, PGM, PPM and GIF.
  for (int channels = 1; channels <= 4; ++channels) {
    const Bytes p = pixels(5, 3, channels);
    write("image", "png-" + std::to_string(channels), image_file([&](const char* path) {
            stbi_write_png(path, 5, 3, channels, p.data(), 5 * channels);
          }));
  }
  const Bytes rgb = pixels(6, 4, 3);
  write("image", "bmp", image_file([&](const char* path) { stbi_write_bmp(path, 6, 4, 3, rgb.data()); }));
  write("image", "tga", image_file([&](const char* path) { stbi_write_tga(path, 6, 4, 3, rgb.data()); }));
  write("image", "jpg", image_file([&](const char* path) { stbi_write_jpg(path, 6, 4, 3, rgb.data(), 90); }));
  Bytes pgm = text("P5\n4 3\n255\n"), ppm = text("P6\n2 2\n255\n");
  for (int k = 0; k < 12; ++k) pgm.push_back(uint8_t(k * 20));
  for (int k = 0; k < 12; ++k) ppm.push_back(uint8_t(k * 20));
  write("image", "pgm", pgm);
  write("image", "ppm", ppm);
  // A 1x1 GIF: header, logical screen with a 2-colour table, one image, LZW data, trailer.
  write("image", "gif", {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0, 255, 255, 255, 0, 0, 0,
                         ',', 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 'D', 1, 0, ';'});

  // CIFAR-10: one and two records.
  Bytes one(3073, 100);
  one[0] = 3;
  write("cifar", "one-record", one);
  Bytes two = one;
  two.insert(two.end(), one.begin(), one.end());
  two[3073] = 9;
  write("cifar", "two-records", two);

  // Text: a plain file (lines, multi-byte UTF-8) and a fortunes file (fortunes between '%' lines).
  std::string plain, fortunes;
  for (int k = 0; k < 12; ++k) plain += "line " + std::to_string(k) + " caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\n";
  for (int k = 0; k < 12; ++k) fortunes += "fortune number " + std::to_string(k) + "\n%\n";
  write("text", "plain", text(plain));
  write("text", "fortunes", text(fortunes));
  write("text", "short", text("tiny"));

  // Checkpoints: mode 0 = the whole file (every fixture); odd modes = one entry of the dncnn fixture
  // (1 data.pkl, 3 version, 5 a TorchScript code file, 7 constants.pkl), which the harness puts back.
  for (const std::string kind : {"vae", "gan", "charlm", "dncnn"}) {
    write("checkpoint", "whole-" + kind, with_mode(0, read(fixtures / ("checkpoint-v1-" + kind + ".pt"))));
  }
  const fs::path dncnn = fixtures / "checkpoint-v1-dncnn.pt";
  write("checkpoint", "entry-data.pkl", with_mode(1, zip_entry(dncnn, "/data.pkl")));
  write("checkpoint", "entry-version", with_mode(3, zip_entry(dncnn, "/version")));
  write("checkpoint", "entry-code", with_mode(5, zip_entry(dncnn, "/code/__torch__/___torch_mangle_0.py")));
  write("checkpoint", "entry-constants.pkl", with_mode(7, zip_entry(dncnn, "/constants.pkl")));

  // The CLI: a TOML config, a NUL, then the arguments separated by NULs.
  auto cli = [](const std::string& config, const std::vector<std::string>& args) {
    std::string s = config;
    for (const auto& arg : args) s += std::string(1, '\0') + arg;
    return text(s);
  };
  write("cli", "flags-vae", cli("", {"train", "vae", "--epochs", "3", "--latent-dim", "8", "--lr", "0.001"}));
  write("cli", "flags-dncnn", cli("", {"train", "dncnn", "--sigma-range", "0", "55", "--patch-size", "40"}));
  write("cli", "flags-charlm", cli("", {"train", "charlm", "--seq-len", "32", "--optimizer", "adam", "--beta1", "0.5"}));
  write("cli", "toml-vae", cli("[train]\nepochs = 2\nbatch-size = 64\n[train.vae]\nbeta = 2.0\nhidden = 32\n", {"train", "vae"}));
  write("cli", "toml-gan", cli("threads = 1\n[train]\nseed = 7\nprogress = \"lines\"\n[train.gan]\nlatent-dim = 16\n",
                               {"train", "gan"}));
  write("cli", "toml-list", cli("[train.dncnn]\nsigma-range = [5, 50]\n", {"train", "dncnn"}));
  return 0;
}
