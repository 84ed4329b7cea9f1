# Helpers shared by the bench scripts (sourced, not run). They set PYTHON (Debian's python3, whose
# torch is the LibTorch deepgen links) and DEEPGEN (the binary; override with DEEPGEN=...).
PYTHON=/usr/bin/python3
DEEPGEN=${DEEPGEN:-build/deepgen}

# need_deepgen: exits with a hint unless the deepgen binary is built.
need_deepgen() { [ -x "$DEEPGEN" ] || { echo "needs $DEEPGEN: run make build" >&2; exit 1; }; }

# need_python MODULE PACKAGE...: exits with the apt-get line unless $PYTHON imports MODULE (e.g. "torch, PIL").
need_python() {
  local modules=$1; shift
  "$PYTHON" -c "import $modules" 2>/dev/null ||
    { echo "needs Debian's $*: apt-get install $*" >&2; exit 1; }
}

# epoch_seconds RUN_DIR: the seconds of each training epoch of a deepgen run, one per line.
epoch_seconds() { grep '"split":"train"' "$1/metrics.jsonl" | sed 's/.*"seconds":\([0-9.e-]*\).*/\1/'; }

# peer_seconds: the seconds of each epoch from a Python peer's JSON lines on stdin, one per line.
peer_seconds() { sed 's/.*"seconds": \([0-9.e-]*\).*/\1/'; }

# median FILE: the median of the numbers in FILE, one per line.
median() { sort -g "$1" | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }

# print_ratio DEEPGEN_TIMES PYTORCH_TIMES: the median of each file of seconds per epoch and their ratio.
print_ratio() {
  local d p
  d=$(median "$1")
  p=$(median "$2")
  printf 'deepgen  %.2f s/epoch\npytorch  %.2f s/epoch\nratio    %.2fx (pytorch / deepgen; >1 means deepgen is faster)\n' \
    "$d" "$p" "$(echo "$p / $d" | bc -l)"
}

# cpu_model: the CPU's model name.
cpu_model() { grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'; }

# wheel_libtorch_cpu VENV_PYTHON: the libtorch_cpu.so of the venv's PyTorch, for LD_PRELOAD. torch.compile's
# C++ kernels link with -L/usr/lib/x86_64-linux-gnu ahead of the wheel's own libraries, so where Debian's
# libtorch-dev is installed too they resolve against its libtorch_cpu.so.1.13, which lacks the Sleef
# functions: Inductor's CPU check fails ("undefined symbol: Sleef_expf16_u10") and it silently writes
# scalar, unvectorized kernels. Preloading the wheel's libtorch_cpu gives compiled PyTorch its vectorized
# kernels, as on a machine without Debian's LibTorch.
wheel_libtorch_cpu() { ls "$(dirname "$1")"/../lib/python3*/site-packages/torch/lib/libtorch_cpu.so | head -1; }
