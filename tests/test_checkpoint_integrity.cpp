// Hostile or damaged checkpoints (issue 26): changed bytes fail the CRC-32 check of the zip archive
// before anything is deserialized; an archive rewritten with valid CRCs but a newer format version,
// another model kind or absurd tensor sizes is refused with one clear line too.
#include <gtest/gtest.h>
#include <zip.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "deepgen/core/error.h"
#include "deepgen/core/zip_check.h"
#include "deepgen/training/archive_records.h"
#include "deepgen/training/checkpoint.h"
#include "test_util.h"

using namespace deepgen;
using deepgen::testing::TempDir;
using deepgen::testing::error_of;

namespace {
using Bytes = std::string;

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const Bytes& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// Replaces the first `from` in `bytes` with `to`; fails the test when `from` is absent.
Bytes replaced(Bytes bytes, const Bytes& from, const Bytes& to) {
  const size_t at = bytes.find(from);
  EXPECT_NE(at, Bytes::npos) << "pattern not found";
  if (at != Bytes::npos) bytes.replace(at, from.size(), to);
  return bytes;
}

// The archive's entry whose name ends in `suffix`, through libzip.
Bytes entry(const std::string& path, const std::string& suffix) {
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY, &code);
  EXPECT_NE(archive, nullptr);
  Bytes bytes;
  for (zip_int64_t k = 0; archive && k < zip_get_num_entries(archive, 0); ++k) {
    const std::string name = zip_get_name(archive, zip_uint64_t(k), 0);
    if (name.size() < suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    zip_stat_t stat;
    zip_stat_index(archive, zip_uint64_t(k), 0, &stat);
    bytes.resize(stat.size);
    zip_file_t* file = zip_fopen_index(archive, zip_uint64_t(k), 0);
    EXPECT_EQ(zip_fread(file, bytes.data(), bytes.size()), zip_int64_t(bytes.size()));
    zip_fclose(file);
  }
  if (archive) zip_discard(archive);
  return bytes;
}

// Copies `from` to `to` with the entry ending in `suffix` replaced by `bytes`; libzip writes valid CRCs,
// as someone who edits a checkpoint on purpose would.
void rewrite_entry(const std::string& from, const std::string& to, const std::string& suffix, const Bytes& bytes) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
  int code = 0;
  zip_t* archive = zip_open(to.c_str(), 0, &code);
  ASSERT_NE(archive, nullptr);
  zip_int64_t index = -1;
  for (zip_int64_t k = 0; k < zip_get_num_entries(archive, 0); ++k) {
    const std::string name = zip_get_name(archive, zip_uint64_t(k), 0);
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) index = k;
  }
  ASSERT_GE(index, 0) << suffix;
  zip_source_t* source = zip_source_buffer(archive, bytes.data(), bytes.size(), 0);
  ASSERT_EQ(zip_file_replace(archive, zip_uint64_t(index), source, 0), 0);
  zip_set_file_compression(archive, zip_uint64_t(index), ZIP_CM_STORE, 0);
  ASSERT_EQ(zip_close(archive), 0) << zip_strerror(archive);
}

void expect_one_line_with(const std::string& message, const std::vector<std::string>& parts) {
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  for (const auto& part : parts) EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
}

const std::string kFixture = std::string(DEEPGEN_FIXTURES) + "/checkpoint-v1-vae.pt";
}  // namespace

TEST(CheckpointIntegrity, TheFixtureAndItsRewrittenCopyLoad) {
  TempDir dir("ckpt-rewrite");
  EXPECT_NO_THROW(check_zip_integrity(kFixture, "checkpoint"));
  // libzip's rewrite of an unchanged entry is still a checkpoint LibTorch reads: the tests below change
  // only what they say.
  rewrite_entry(kFixture, dir / "same.pt", "/data.pkl", entry(kFixture, "/data.pkl"));
  RunState state;
  EXPECT_NO_THROW(load_checkpoint(dir / "same.pt", torch::kCPU, &state));
  EXPECT_EQ(state.kind, "vae");
}

TEST(CheckpointIntegrity, ChangedBytesFailTheCrcCheck) {
  TempDir dir("ckpt-crc");
  // The JSON header lives in data.pkl; "format_version":1 -> 2 in place, without updating the CRC.
  const Bytes original = read_file(kFixture);
  write_file(dir / "changed.pt", replaced(original, "\"format_version\":1", "\"format_version\":2"));
  expect_one_line_with(error_of([&] { load_checkpoint(dir / "changed.pt", torch::kCPU, nullptr); }),
                       {dir / "changed.pt", "is corrupted", "data.pkl", "CRC error"});
  // A tensor's bytes: the last entry data/N before data.pkl holds weights; change one in its middle.
  const Bytes weights = entry(kFixture, "/data/0");
  ASSERT_GT(weights.size(), 8u);
  const size_t at = original.find(weights);
  ASSERT_NE(at, Bytes::npos);
  Bytes flipped = original;
  flipped[at + weights.size() / 2] = char(flipped[at + weights.size() / 2] ^ 0x40);
  write_file(dir / "weights.pt", flipped);
  expect_one_line_with(error_of([&] { read_checkpoint_state(dir / "weights.pt"); }),
                       {dir / "weights.pt", "is corrupted", "data/0", "CRC error"});
}

TEST(CheckpointIntegrity, TruncatedAndForeignFilesAreOneLine) {
  TempDir dir("ckpt-cut");
  const Bytes original = read_file(kFixture);
  for (const size_t keep : {size_t(0), size_t(10), original.size() / 2, original.size() - 1}) {
    write_file(dir / "cut.pt", original.substr(0, keep));
    expect_one_line_with(error_of([&] { load_checkpoint(dir / "cut.pt", torch::kCPU, nullptr); }),
                         {dir / "cut.pt", "is not a deepgen checkpoint"});
  }
  write_file(dir / "text.pt", "definitely not a checkpoint");
  expect_one_line_with(error_of([&] { load_checkpoint(dir / "text.pt", torch::kCPU, nullptr); }),
                       {"is not a deepgen checkpoint", "zip archive"});
}

TEST(CheckpointIntegrity, NewerFormatAndUnknownKindWithValidCrcs) {
  TempDir dir("ckpt-version");
  const Bytes pickle = entry(kFixture, "/data.pkl");
  rewrite_entry(kFixture, dir / "newer.pt", "/data.pkl", replaced(pickle, "\"format_version\":1", "\"format_version\":4"));
  expect_one_line_with(error_of([&] { load_checkpoint(dir / "newer.pt", torch::kCPU, nullptr); }),
                       {dir / "newer.pt", "expected format version 1, 2 or 3, found 4"});
  rewrite_entry(kFixture, dir / "kind.pt", "/data.pkl", replaced(pickle, "\"kind\":\"vae\"", "\"kind\":\"vax\""));
  expect_one_line_with(error_of([&] { load_checkpoint(dir / "kind.pt", torch::kCPU, nullptr); }), {"vax"});
}

// A checkpoint whose pickle declares a tensor far larger than the bytes stored for it (sizes are
// pickled as ints: the vae fixture's first weight, 8 x 64, becomes 2^31-1 x 2^31-1). LibTorch
// reads stored tensors into storages that cannot grow, so this is an error, not an allocation.
TEST(CheckpointIntegrity, AbsurdTensorSizesAreAnErrorNotAnAllocation) {
  TempDir dir("ckpt-sizes");
  const Bytes pickle = entry(kFixture, "/data.pkl");
  // MARK, BININT1 8, BININT1 64, TUPLE: the size (8, 64), then the stride (64, 1); BININT (int32,
  // little-endian) 2^31-1 twice instead of the size.
  const Bytes size = Bytes("(K\x08K@t(K@K\x01t", 12);
  const Bytes huge = Bytes("(J\xff\xff\xff\x7fJ\xff\xff\xff\x7ft(K@K\x01t", 18);
  ASSERT_NE(pickle.find(size), Bytes::npos) << "the fixture's pickle changed";
  rewrite_entry(kFixture, dir / "huge.pt", "/data.pkl", replaced(pickle, size, huge));
  const std::string message = error_of([&] { load_checkpoint(dir / "huge.pt", torch::kCPU, nullptr); });
  expect_one_line_with(message, {dir / "huge.pt"});
  EXPECT_NE(message, "(no error)");
}

// LibTorch 1.13's unpickler crashed (SIGSEGV: it popped an empty stack) on an edited constants.pkl with
// valid CRCs (fuzz/regressions/checkpoint/constants-pickle-empty-stack). deepgen's checkpoints hold no
// constants, so the record must be the pickle LibTorch writes for none; anything else is one line.
TEST(CheckpointIntegrity, ConstantsRecordMustBeTheEmptyOne) {
  TempDir dir("ckpt-constants");
  EXPECT_EQ(entry(kFixture, "/constants.pkl"), Bytes("\x80\x02).", 4));
  const Bytes regression = read_file(std::string(DEEPGEN_FUZZ_REGRESSIONS) + "/checkpoint/constants-pickle-empty-stack");
  // The harness's input: a mode byte, then the bytes that replace constants.pkl.
  rewrite_entry(kFixture, dir / "edited.pt", "/constants.pkl", regression.substr(1));
  expect_one_line_with(error_of([&] { load_checkpoint(dir / "edited.pt", torch::kCPU, nullptr); }),
                       {dir / "edited.pt", "constants.pkl", "is not the record LibTorch writes for no constants"});
  rewrite_entry(kFixture, dir / "tuple.pt", "/constants.pkl", Bytes("\x80\x02)\x85.", 5));  // ((),): valid, not ours
  expect_one_line_with(error_of([&] { load_checkpoint(dir / "tuple.pt", torch::kCPU, nullptr); }), {"constants.pkl"});
}

// Every record of every past checkpoint version (the fixtures: v1 of four families, v2 and v3, written by
// LibTorch 1.13) passes the record rules; a fresh checkpoint of each family does too (CheckpointIntegrity's
// load tests and every save/load test go through them, on both engines).
TEST(ArchiveRecords, EveryRecordOfTheFixturesPasses) {
  int fixtures = 0;
  for (const auto& file : std::filesystem::directory_iterator(DEEPGEN_FIXTURES)) {
    if (file.path().extension() != ".pt") continue;
    ++fixtures;
    const std::string path = file.path().string();
    EXPECT_NO_THROW(check_zip_integrity(path, "checkpoint", checkpoint_record_rules())) << path;
    EXPECT_EQ(pickle_problem(entry(path, "/data.pkl")), "") << path;
    EXPECT_EQ(torchscript_record_problem(entry(path, "/code/__torch__.py")), "") << path;
    EXPECT_EQ(torchscript_record_problem(entry(path, "/code/__torch__/___torch_mangle_2.py")), "") << path;
  }
  EXPECT_GE(fixtures, 6);
}

TEST(ArchiveRecords, CodeRecordsHoldOnlyDeclarations) {
  const std::string head = "class Module(Module):\n  __parameters__ = [\"weight\", ]\n  __buffers__ = []\n";
  EXPECT_EQ(torchscript_record_problem(head + "  weight : Tensor\n  betas : Tuple[float, float]\n"
                                              "  __annotations__ = []\n  __annotations__[\"params/0\"] = str\n"
                                              "  net : __torch__.___torch_mangle_12.Module\n"),
            "");
  // What LibTorch would compile beyond declarations: constants, methods, other classes, odd types.
  EXPECT_NE(torchscript_record_problem(head + "  x : Final[int] = 3\n").find("line 4 '  x : Final[int] = 3'"),
            std::string::npos);
  EXPECT_NE(torchscript_record_problem(head + "  def forward(self):\n    return 1\n").find("line 4"), std::string::npos);
  EXPECT_NE(torchscript_record_problem("class Evil(Module):\n").find("line 1"), std::string::npos);
  EXPECT_NE(torchscript_record_problem(head + "  w : Dict[str, Tensor]\n").find("line 4"), std::string::npos);
  EXPECT_NE(torchscript_record_problem(head + "  __annotations__[\"a\\\"b\"] = str\n").find("line 4"), std::string::npos);
  EXPECT_NE(torchscript_record_problem(head + "\n  weight : Tensor\n").find("line 4"), std::string::npos);
  EXPECT_NE(torchscript_record_problem(head + "  w : Tensor\xff\n").find("\\xff"), std::string::npos);
  EXPECT_EQ(torchscript_record_problem(""), "an empty record");
}

TEST(ArchiveRecords, PicklesKeepTheUnpicklersStackAndMemoInBounds) {
  using namespace std::string_literals;  // literals with NUL bytes inside
  const Bytes fixture = entry(kFixture, "/data.pkl");
  ASSERT_EQ(pickle_problem(fixture), "");
  const auto problem = [](const Bytes& body) { return pickle_problem(Bytes("\x80\x02", 2) + body); };
  EXPECT_EQ(problem(")."), "");                         // an empty tuple
  EXPECT_EQ(problem("}q\x00(X\x01\x00\x00\x00" "aK\x01u."s), "");  // {"a": 1}
  EXPECT_NE(problem("t."s).find("byte 2: TUPLE without a MARK"), std::string::npos);
  EXPECT_NE(problem("\x85."s).find("TUPLE1 with 0 values"), std::string::npos);
  EXPECT_NE(problem("h\x00."s).find("BINGET 0 before it was put"), std::string::npos);
  EXPECT_NE(problem(")q\x05.").find("skips memo ids"), std::string::npos);
  EXPECT_NE(problem("cos\nsystem\n)R.").find("GLOBAL 'os system'"), std::string::npos);
  EXPECT_NE(problem("K\x01)R.").find("REDUCE of something that is not a GLOBAL"), std::string::npos);
  EXPECT_NE(problem("](K\x01u."s).find("SETITEMS into something that is not a dict"), std::string::npos);
  EXPECT_NE(problem("X\xff\xff\xff\x7f" "abc."s).find("runs past the end"), std::string::npos);
  EXPECT_NE(problem(")").find("ends without STOP"), std::string::npos);
  EXPECT_NE(problem(").)").find("1 bytes after STOP"), std::string::npos);
  EXPECT_NE(problem(")).").find("STOP leaves 2 values"), std::string::npos);
  EXPECT_NE(problem("\x95."s).find("opcode 0x95"), std::string::npos);
  EXPECT_NE(pickle_problem(Bytes("\x80\x04).", 4)).find("PROTO 2"), std::string::npos);
  // Cut anywhere, the fixture's pickle is refused, never read past its end.
  for (size_t keep = 0; keep < fixture.size(); keep += 97) EXPECT_NE(pickle_problem(fixture.substr(0, keep)), "") << keep;
}

// The two inputs with which fuzz_checkpoint crashed LibTorch 1.13 behind the CRC check (a SIGSEGV in
// the TorchScript importer for an edited code record; std::stoull's out_of_range for the version
// record): refused by the record rules before LibTorch reads them.
TEST(ArchiveRecords, TheFuzzersLibTorchCrashesAreOneLine) {
  TempDir dir("ckpt-records");
  const std::string regressions = std::string(DEEPGEN_FUZZ_REGRESSIONS) + "/checkpoint/";
  // The harness's inputs: a mode byte, then the bytes that replace the entry.
  const Bytes code = read_file(regressions + "torchscript-class-constant-segv").substr(1);
  rewrite_entry(kFixture, dir / "code.pt", "/code/__torch__/___torch_mangle_0.py", code);
  expect_one_line_with(error_of([&] { load_checkpoint(dir / "code.pt", torch::kCPU, nullptr); }),
                       {dir / "code.pt", "code/__torch__/___torch_mangle_0.py", "line 2", "edited"});
  const Bytes version = read_file(regressions + "version-number-out-of-range").substr(1);
  rewrite_entry(kFixture, dir / "version.pt", "/version", version);
  expect_one_line_with(error_of([&] { load_checkpoint(dir / "version.pt", torch::kCPU, nullptr); }),
                       {dir / "version.pt", "version", "a format version number"});
  Bytes pickle = entry(kFixture, "/data.pkl");
  pickle.insert(2, "t");  // TUPLE right after PROTO: LibTorch would pop an empty stack
  rewrite_entry(kFixture, dir / "pickle.pt", "/data.pkl", pickle);
  expect_one_line_with(error_of([&] { load_checkpoint(dir / "pickle.pt", torch::kCPU, nullptr); }),
                       {dir / "pickle.pt", "data.pkl", "byte 2: TUPLE without a MARK"});
}
