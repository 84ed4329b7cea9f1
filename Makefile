# deepgen's two commands on a fresh Debian 12 machine (as root, or with sudo):
#   make demo   install what is missing, build, train the default VAE on Fashion-MNIST, write its
#               pictures and metrics to runs/demo
#   make test   install what is missing, build, run the test suite with ctest
# Other targets: make build (build/deepgen), make bench (deepgen vs PyTorch, CPU), make clean.

BUILD ?= build
DEMO_OUT ?= runs/demo
JOBS ?= $(shell nproc)
# Debian packages the build, the tests and the demo need. python3-torch is only for `make bench`.
PACKAGES := cmake g++ make libtorch-dev libopenblas0-pthread dataset-fashion-mnist libcli11-dev \
            nlohmann-json3-dev libstb-dev zlib1g-dev libgtest-dev ccache bc fortunes
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: deps build demo test bench clean

deps:
	@missing=$$(for p in $(PACKAGES) $(EXTRA_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	rm -rf $(DEMO_OUT)
	$(BUILD)/deepgen train vae --out $(DEMO_OUT)
	$(BUILD)/deepgen sample $(DEMO_OUT)
	$(BUILD)/deepgen reconstruct $(DEMO_OUT)
	$(BUILD)/deepgen eval $(DEMO_OUT)
	@echo "pictures: $(DEMO_OUT)/samples.png $(DEMO_OUT)/reconstructions.png $(DEMO_OUT)/images/; metrics: $(DEMO_OUT)/metrics.jsonl"

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

bench: EXTRA_PACKAGES := python3-torch
bench: build
	bench/compare_vae_cpu.sh 1 3 3

clean:
	rm -rf $(BUILD)
