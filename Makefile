# deepgen's two commands on a fresh Debian 12 machine (as root, or with sudo):
# (a bare Debian 12 lacks make itself: apt-get update && apt-get install -y make)
#   make demo   install what is missing, build the CLI (only), train the default VAE on Fashion-MNIST,
#               write its pictures and metrics to runs/demo
#   make test   install what is missing, build everything, run the test suite with ctest
# Other targets: make build (everything: build/deepgen and the tests), make cli (build/deepgen only),
# make install (the CLI, libdeepgen, its headers and CMake package into PREFIX, default /usr/local),
# make images (natural images for the restoration models; make images-plus, a larger training set; make
# images-unseen, twelve photographs none of them trained on),
# make bench (deepgen vs PyTorch, CPU; make bench TORCH=pip: both engines vs PyTorch 1.13 and 2.15, eager and
# compiled), make fuzz (the libFuzzer harnesses, FUZZ_SECONDS each), make clean.

# The LibTorch to build against: debian (libtorch-dev 1.13.1, CPU; the default) or pip (PyPI's
# torch==$(TORCH_PIP_VERSION) in the virtual environment $(TORCH_VENV), the CUDA build; in its own BUILD,
# default build-pip): make test TORCH=pip, make build TORCH=pip, make bench TORCH=pip.
TORCH ?= debian
TORCH_PIP_VERSION ?= 2.15.*
TORCH_VENV ?= build-venv
ifeq ($(TORCH),pip)
BUILD ?= build-pip
else ifneq ($(TORCH),debian)
$(error TORCH: expected debian or pip, found '$(TORCH)')
endif
BUILD ?= build
DEMO_OUT ?= runs/demo
JOBS ?= $(shell nproc)
PREFIX ?= /usr/local
# Debian packages the build, the tests and the demo need (libjs-chart.js: the charts of report.html).
# python3-torch and python3-pil are for `make bench`; `make test` adds chromium (the report is checked
# in a headless browser), python3-torch (its torchrun launches data-parallel ranks in the tests) and
# iproute2 (two hosts in network namespaces). libgloo-dev: the Gloo headers c10d's ProcessGroupGloo needs.
PACKAGES := cmake g++ make libtorch-dev libopenblas0-pthread dataset-fashion-mnist libcli11-dev \
            nlohmann-json3-dev libstb-dev zlib1g-dev libzip-dev libssl-dev libgtest-dev ccache bc fortunes libjs-chart.js \
            protobuf-compiler libprotobuf-dev libcrcutil-dev pkgconf libgloo-dev
ifeq ($(TORCH),pip)
PACKAGES += python3-venv
endif
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# The restoration models' default images: classic natural test images shipped in Debian's
# python3-skimage, extracted from the downloaded .deb without installing it. Fixed split: the four
# classic test images below test, the other fifteen train.
IMAGES ?= data/natural
SKIMAGE_DATA := ./usr/lib/python3/dist-packages/skimage/data
TEST_IMAGES := astronaut.png camera.png chelsea.png coins.png
TRAIN_IMAGES := brick.png cell.png coffee.png grass.png gravel.png hubble_deep_field.jpg ihc.png \
                microaneurysms.png moon.png motorcycle_left.png motorcycle_right.png page.png \
                retina.jpg rocket.jpg text.png
# A larger training set, `make images-plus`: those fifteen plus thirty photographs from the examples
# in Debian's opencv-doc (a 96 MB download, not installed); the same four test images.
IMAGES_PLUS ?= data/natural-plus
OPENCV_EXAMPLES := ./usr/share/doc/opencv-doc/examples
OPENCV_PHOTOS := $(addprefix data/,aero1.jpg aero3.jpg aloeL.jpg apple.jpg baboon.jpg basketball1.png \
                   board.jpg building.jpg butterfly.jpg chicky_512.png ela_original.jpg fruits.jpg graf1.png \
                   home.jpg leuvenA.jpg messi5.jpg orange.jpg rubberwhale1.png smarties.png squirrel_cls.jpg \
                   stuff.jpg) \
                 $(addprefix text/scenetext0,1.jpg 2.jpg 3.jpg 4.jpg 5.jpg 6.jpg) \
                 alphamat/input_images/plant.jpg hfs/data/000.jpg reg/home.png

# The larger set plus ten high-resolution photographs (2560x1600 JPEG) from Debian's
# plasma-workspace-wallpapers (a 94 MB download, not installed), `make images-wall`: photos at full
# resolution are smooth at the pixel scale, which the scikit-image and opencv-doc images are not (tried for
# the colour DnCNN at the zoo entry's budget: worse on both test sets; zoo/README.md).
IMAGES_WALL ?= data/natural-wall
KDE_WALLPAPERS := ./usr/share/wallpapers
KDE_PHOTOS := Autumn BytheWater ColorfulCups DarkestHour EveningGlow FallenLeaf Grey Kite OneStandsOut Path

# Photographs no model here trained on, `make images-unseen`: the twelve photos of nature/ in Debian's
# mate-backgrounds (a 47 MB download, not installed; 1280x1024 to 2560x1920 JPEG), for checking how the
# restoration models generalize (`deepgen eval RUN --images data/unseen --centre-crop 512`).
IMAGES_UNSEEN ?= data/unseen
MATE_NATURE := ./usr/share/backgrounds/mate/nature
UNSEEN_PHOTOS := Aqua.jpg Blinds.jpg Dune.jpg FreshFlower.jpg Garden.jpg GreenMeadow.jpg LadyBird.jpg RainDrops.jpg \
                 Storm.jpg TwoWings.jpg Wood.jpg YellowFlower.jpg

# $(call deb_extract,DIR,PACKAGE,FILES): download PACKAGE's .deb into DIR (running apt-get update once
# if apt does not know it yet) and extract only FILES (paths inside the package) under DIR; no install.
deb_extract = cd $(1) && (apt-get download $(2) || ($(SUDO) apt-get update -qq && apt-get download $(2))) && \
  dpkg-deb --fsys-tarfile $(2)_*.deb | tar -x $(3)

.PHONY: deps torch configure build cli demo test install bench fuzz clean images images-plus images-wall images-unseen

deps:
	@missing=$$(for p in $(PACKAGES) $(EXTRA_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# TORCH=pip: the virtual environment and its torch (pip does nothing when the version is there already;
# the wheel and the nvidia-* wheels it pulls in are about 3 GB to download, 5.5 GB installed).
# CMake finds that LibTorch through torch.utils.cmake_prefix_path (cmake/deepgenTorch.cmake).
TORCH_PYTHON := $(TORCH_VENV)/bin/python
ifeq ($(TORCH),pip)
TORCH_CMAKE_ARGS = -DCMAKE_PREFIX_PATH="$$($(TORCH_PYTHON) -W ignore -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')"
endif
torch: deps
ifeq ($(TORCH),pip)
	test -x $(TORCH_PYTHON) || /usr/bin/python3 -m venv $(TORCH_VENV)
	$(TORCH_PYTHON) -m pip install --quiet 'torch==$(TORCH_PIP_VERSION)'
	$(TORCH_PYTHON) -W ignore -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)'
endif

configure: torch
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(TORCH_CMAKE_ARGS)

build: configure
	cmake --build $(BUILD) -j$(JOBS)

cli: configure
	cmake --build $(BUILD) -j$(JOBS) --target deepgen_cli

demo: cli
	rm -rf $(DEMO_OUT)
	$(BUILD)/deepgen train vae --out $(DEMO_OUT)
	$(BUILD)/deepgen sample $(DEMO_OUT)
	$(BUILD)/deepgen reconstruct $(DEMO_OUT)
	$(BUILD)/deepgen eval $(DEMO_OUT)
	@echo "pictures: $(DEMO_OUT)/samples.png $(DEMO_OUT)/reconstructions.png $(DEMO_OUT)/images/; metrics: $(DEMO_OUT)/metrics.jsonl"

test: EXTRA_PACKAGES := chromium python3-torch iproute2
# images: the restoration entries of the model zoo are checked on data/natural's test images (zoo_entries).
test: build images
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

install: cli
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

bench: EXTRA_PACKAGES := python3-torch python3-pil fortunes time
ifeq ($(TORCH),pip)
# Both engines against PyTorch 1.13 and 2.15, eager and torch.compile (docs/speed.md); builds the
# Debian engine in build/ too.
bench: build images
	$(MAKE) build TORCH=debian BUILD=build
	$(TORCH_PYTHON) -m pip install --quiet numpy pillow  # the peers read the IDX files and PNGs with them
	for model in vae lenet5 resnet20 dcgan dncnn dncnn-bf16 charlm; do \
	  DEEPGEN_DEBIAN=build/deepgen DEEPGEN_PIP=$(BUILD)/deepgen TORCH_VENV=$(TORCH_VENV) \
	    bench/compare_engines.sh $$model 1 3 3 || exit 1; done
	DEEPGEN_DEBIAN=build/deepgen DEEPGEN_PIP=$(BUILD)/deepgen TORCH_VENV=$(TORCH_VENV) bench/compare_inference.sh
	LD_PRELOAD=$$(bash -c 'source bench/lib.sh && wheel_libtorch_cpu $(TORCH_PYTHON)') \
	  $(TORCH_PYTHON) -W ignore bench/inference_variants.py --threads 1
else
bench: build images
	bench/compare_vae_cpu.sh 1 3 3
	bench/compare_charlm_cpu.sh 1 3 3
	bench/compare_classifier_cpu.sh lenet5 1 3 2
	bench/dncnn_precision.sh 32 3 2 1536
	bench/compare_ddp_cpu.sh vae 3 2
	bench/compare_ddp_cpu.sh lenet5 3 2
	bench/compare_ddp_cpu.sh dncnn 3 2
endif

# The libFuzzer harnesses of fuzz/ (clang, ASan and UBSan, in build-fuzz/), each run FUZZ_SECONDS; fails on
# any crash, leak or timeout (docs/robustness.md). clang's sanitizer runtimes are only a recommendation of
# clang-14, hence libclang-rt-14-dev.
FUZZ_SECONDS ?= 20
fuzz: EXTRA_PACKAGES := clang libclang-rt-14-dev
fuzz: deps
	FUZZ_JOBS=$(JOBS) scripts/fuzz.sh $(FUZZ_SECONDS)

images: $(IMAGES)/test/camera.png

$(IMAGES)/test/camera.png:
	rm -rf $(IMAGES).tmp && mkdir -p $(IMAGES).tmp/deb $(IMAGES).tmp/train $(IMAGES).tmp/test
	$(call deb_extract,$(IMAGES).tmp/deb,python3-skimage,$(addprefix $(SKIMAGE_DATA)/,$(TEST_IMAGES) $(TRAIN_IMAGES)))
	cd $(IMAGES).tmp/deb/$(SKIMAGE_DATA) && mv $(TEST_IMAGES) $(CURDIR)/$(IMAGES).tmp/test/ && \
	  mv $(TRAIN_IMAGES) $(CURDIR)/$(IMAGES).tmp/train/
	rm -rf $(IMAGES).tmp/deb $(IMAGES) && mv $(IMAGES).tmp $(IMAGES)
	@echo "natural images: $(IMAGES)/train ($(words $(TRAIN_IMAGES))), $(IMAGES)/test ($(words $(TEST_IMAGES)))"

images-plus: $(IMAGES_PLUS)/test/camera.png

$(IMAGES_PLUS)/test/camera.png: $(IMAGES)/test/camera.png
	rm -rf $(IMAGES_PLUS).tmp && mkdir -p $(IMAGES_PLUS).tmp/deb $(IMAGES_PLUS).tmp/train
	$(call deb_extract,$(IMAGES_PLUS).tmp/deb,opencv-doc,$(addprefix $(OPENCV_EXAMPLES)/,$(OPENCV_PHOTOS)))
	cd $(IMAGES_PLUS).tmp/deb/$(OPENCV_EXAMPLES) && \
	  for f in $(OPENCV_PHOTOS); do cp $$f $(CURDIR)/$(IMAGES_PLUS).tmp/train/opencv_$$(echo $$f | tr / _); done
	cp $(IMAGES)/train/* $(IMAGES_PLUS).tmp/train/ && cp -r $(IMAGES)/test $(IMAGES_PLUS).tmp/test
	rm -rf $(IMAGES_PLUS).tmp/deb $(IMAGES_PLUS) && mv $(IMAGES_PLUS).tmp $(IMAGES_PLUS)
	@echo "natural images plus: $(IMAGES_PLUS)/train ($(words $(TRAIN_IMAGES) $(OPENCV_PHOTOS))), $(IMAGES_PLUS)/test ($(words $(TEST_IMAGES)))"

images-wall: $(IMAGES_WALL)/test/camera.png

$(IMAGES_WALL)/test/camera.png: $(IMAGES_PLUS)/test/camera.png
	rm -rf $(IMAGES_WALL).tmp && mkdir -p $(IMAGES_WALL).tmp/deb $(IMAGES_WALL).tmp/train
	$(call deb_extract,$(IMAGES_WALL).tmp/deb,plasma-workspace-wallpapers,$(foreach p,$(KDE_PHOTOS),$(KDE_WALLPAPERS)/$(p)/contents/images/2560x1600.jpg))
	for p in $(KDE_PHOTOS); do mv $(IMAGES_WALL).tmp/deb/$(KDE_WALLPAPERS)/$$p/contents/images/2560x1600.jpg $(IMAGES_WALL).tmp/train/kde_$$p.jpg; done
	cp $(IMAGES_PLUS)/train/* $(IMAGES_WALL).tmp/train/ && cp -r $(IMAGES_PLUS)/test $(IMAGES_WALL).tmp/test
	rm -rf $(IMAGES_WALL).tmp/deb $(IMAGES_WALL) && mv $(IMAGES_WALL).tmp $(IMAGES_WALL)
	@echo "natural images and wallpapers: $(IMAGES_WALL)/train ($(words $(TRAIN_IMAGES) $(OPENCV_PHOTOS) $(KDE_PHOTOS))), $(IMAGES_WALL)/test ($(words $(TEST_IMAGES)))"

images-unseen: $(IMAGES_UNSEEN)/Wood.jpg

$(IMAGES_UNSEEN)/Wood.jpg:
	rm -rf $(IMAGES_UNSEEN).tmp && mkdir -p $(IMAGES_UNSEEN).tmp/deb
	$(call deb_extract,$(IMAGES_UNSEEN).tmp/deb,mate-backgrounds,$(addprefix $(MATE_NATURE)/,$(UNSEEN_PHOTOS)))
	mv $(addprefix $(IMAGES_UNSEEN).tmp/deb/$(MATE_NATURE)/,$(UNSEEN_PHOTOS)) $(IMAGES_UNSEEN).tmp/
	rm -rf $(IMAGES_UNSEEN).tmp/deb $(IMAGES_UNSEEN) && mv $(IMAGES_UNSEEN).tmp $(IMAGES_UNSEEN)
	@echo "unseen photographs: $(IMAGES_UNSEEN) ($(words $(UNSEEN_PHOTOS)))"

clean:
	rm -rf $(BUILD)
