// libFuzzer harness of the image loaders (data/image_folder.h: image_info, load_image), i.e. stb_image's
// PNG, JPEG, BMP, GIF, TGA and PNM decoders behind deepgen's pixel limit. The limit is lowered to 4
// megapixels here so that a declared size at the limit decodes in well under a second.
#include "deepgen/core/error.h"
#include "deepgen/data/image_folder.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("DEEPGEN_MAX_IMAGE_PIXELS", "4000000", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = deepgen::fuzz::write_input(data, size, "image.img");
  try {
    const auto info = deepgen::image_info(path);
    const auto image = deepgen::load_image(path, size % 2 ? 1 : 0);
    if (image.size(1) != info.height || image.size(2) != info.width) {
      // stb decoded another size than its header declared: the limit was checked on the wrong numbers.
      __builtin_trap();
    }
    (void)deepgen::square_resize(image, 8);
  } catch (const deepgen::Error&) {
  }
  return 0;
}
