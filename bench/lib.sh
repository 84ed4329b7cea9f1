# Helpers shared by the bench scripts (sourced, not run).

# epoch_seconds RUN_DIR: the seconds of each training epoch of a deepgen run, one per line.
epoch_seconds() { grep '"split":"train"' "$1/metrics.jsonl" | sed 's/.*"seconds":\([0-9.e-]*\).*/\1/'; }

# median FILE: the median of the numbers in FILE, one per line.
median() { sort -g "$1" | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }
