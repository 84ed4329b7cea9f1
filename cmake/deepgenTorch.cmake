# Finds LibTorch for deepgen's build and for its installed package (deepgenConfig.cmake): Debian 12's
# libtorch-dev 1.13 (CPU) or PyPI's torch 2.x (its LibTorch has CUDA), found through
# CMAKE_PREFIX_PATH=torch.utils.cmake_prefix_path. The differences between them that CMake sees are
# handled here; those that the C++ code sees, in src/deepgen/core/torch_compat.h.
#   deepgen_find_torch([REQUIRED])
# sets what find_package(Torch) sets (TORCH_LIBRARIES, Torch_VERSION, ...), DEEPGEN_TORCH_CUDA (ON when
# this LibTorch has CUDA: libtorch_cuda is linked, so its code runs where a GPU is) and
# DEEPGEN_TORCH_LIBRARY_DIR (its lib/ when that is not a system directory).
macro(deepgen_find_torch)
  # TorchConfig.cmake finds Caffe2 (the targets torch, c10, torch_cuda) with find_dependency(Caffe2 PATHS
  # <beside it>), and PATHS come after the system's directories: given only Torch_DIR of PyPI's torch, it
  # took Debian's Caffe2, LibTorch 1.13's libraries under 2.15's headers. Take the Caffe2 beside Torch_DIR.
  if(Torch_DIR AND NOT Caffe2_DIR AND EXISTS "${Torch_DIR}/../Caffe2/Caffe2Config.cmake")
    get_filename_component(Caffe2_DIR "${Torch_DIR}/../Caffe2" ABSOLUTE)
  endif()
  find_package(Torch ${ARGN})
  if(TORCH_FOUND)
    # TorchConfig.cmake looks for libc10 with find_library(c10 PATHS <its prefix>/lib), and find_library
    # searches the system's directories before PATHS: next to Debian's libtorch-dev, PyPI's LibTorch got
    # Debian's /usr/lib/x86_64-linux-gnu/libc10.so, a second c10 in the process. Caffe2's exported target
    # c10 names the right file.
    string(FIND "${c10_LIBRARY}" "${TORCH_INSTALL_PREFIX}/" _deepgen_c10_at)
    if(c10_LIBRARY AND NOT _deepgen_c10_at EQUAL 0 AND TARGET c10)
      set(_deepgen_torch_libraries "")
      foreach(_deepgen_lib IN LISTS TORCH_LIBRARIES)
        if(_deepgen_lib STREQUAL c10_LIBRARY)
          set(_deepgen_lib c10)
        endif()
        list(APPEND _deepgen_torch_libraries "${_deepgen_lib}")
      endforeach()
      set(TORCH_LIBRARIES ${_deepgen_torch_libraries})
    endif()
    # Caffe2's public/mkl.cmake gives caffe2::mkl the link directories ${MKL_ROOT}/lib/intel64 and three
    # more even when no MKL is found (PyPI's LibTorch carries its MKL inside libtorch_cpu): /lib/intel64,
    # /lib/win-x64 and /lib/intel64_win ended up in the link line and the RUNPATH.
    if(TARGET caffe2::mkl AND NOT MKL_FOUND)
      set_property(TARGET caffe2::mkl PROPERTY INTERFACE_LINK_DIRECTORIES "")
    endif()
    # pytorch#42018: a program that calls nothing in libtorch_cuda directly would lose it to the linker's
    # --as-needed, and then torch::cuda::is_available() is false on a GPU machine. Caffe2's exported
    # torch_cuda_library wraps it in -Wl,--no-as-needed; tests/test_training.cpp checks that it is loaded.
    if(TARGET torch_cuda)
      set(DEEPGEN_TORCH_CUDA ON)
      # PyPI's libtorch_cuda finds the CUDA libraries of the nvidia-* wheels (CUDA 13.2, NCCL 2.30 for
      # torch 2.15) through its RPATH, $ORIGIN/../../nvidia/*/lib. The linker, checking its dependencies,
      # looks in the -rpath directories first, where CMake put the CUDA toolkit's (/usr/local/cuda/lib,
      # for Caffe2's torch::cudart and nvrtc), whose older NCCL lacks symbols libtorch_cuda needs
      # (ncclSignal): show it the wheels' libraries first. At run time libtorch_cuda's RPATH wins anyway.
      file(GLOB _deepgen_wheel_libs LIST_DIRECTORIES true "${TORCH_INSTALL_PREFIX}/../nvidia/*/lib")
      if(_deepgen_wheel_libs)
        string(REPLACE ";" ":" _deepgen_wheel_libs "${_deepgen_wheel_libs}")
        list(APPEND TORCH_LIBRARIES "-Wl,-rpath-link,${_deepgen_wheel_libs}")
      endif()
    else()
      set(DEEPGEN_TORCH_CUDA OFF)
    endif()
    # A LibTorch outside the system's directories (PyPI's) has its libraries in <prefix>/lib; empty for Debian's.
    if(EXISTS "${TORCH_INSTALL_PREFIX}/lib/libc10.so")
      set(DEEPGEN_TORCH_LIBRARY_DIR "${TORCH_INSTALL_PREFIX}/lib")
    else()
      set(DEEPGEN_TORCH_LIBRARY_DIR "")
    endif()
    message(STATUS "deepgen: LibTorch ${Torch_VERSION} at ${TORCH_INSTALL_PREFIX}, CUDA: ${DEEPGEN_TORCH_CUDA}")
  endif()
endmacro()
