#!/usr/bin/env bash
# Runs every backend executable in alternating order for several rounds and appends CSV lines.
#   bench/gemm_backends/run.sh BUILD_DIR OUT.csv [ROUNDS]
# Each configuration is one executable plus environment settings that pick the kernel ISA:
#   avx2   = the kernels each library would use on an AVX2-only CPU such as Zen 3
#   native = what the library can use on this CPU (AVX-512 where it has kernels for it)
# Before each executable the script waits (up to 60 s) until other processes use < 10 % of the
# machine; the program itself also records, per case, how much CPU other processes used.
set -euo pipefail
build=${1:?build dir}
out=${2:?output csv}
rounds=${3:-3}
min_time=${MIN_TIME:-0.1}
min_reps=${MIN_REPS:-5}

# name|isa|executable|environment (BLIS_ARCH_TYPE ids are those of Debian 12's BLIS 0.9.0:
# 6 = zen3, 0 = skx; left unset it selects "generic" on family 1Ah CPUs).
configs=(
  "openblas|avx2|gemm_bench_openblas|"
  "blis|avx2|gemm_bench_blis|BLIS_ARCH_TYPE=6"
  "onednn|avx2|gemm_bench_onednn|DNNL_MAX_CPU_ISA=AVX2"
  "libxsmm|avx2|gemm_bench_libxsmm|LIBXSMM_TARGET=hsw"
  "openblas|native|gemm_bench_openblas|OPENBLAS_CORETYPE=SkylakeX"
  "blis|native|gemm_bench_blis|BLIS_ARCH_TYPE=0"
  "onednn|native|gemm_bench_onednn|"
  "libxsmm|native|gemm_bench_libxsmm|"
)

busy_fraction() {  # share of all CPUs busy over one second
  local a b
  read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 _ < /proc/stat
  sleep 1
  read -r _ u2 n2 s2 i2 w2 q2 sq2 st2 _ < /proc/stat
  local busy=$(( (u2+n2+s2+q2+sq2+st2) - (u1+n1+s1+q1+sq1+st1) ))
  local idle=$(( (i2+w2) - (i1+w1) ))
  echo $(( 100 * busy / (busy + idle) ))
}

wait_quiet() {
  local waited=0 b
  while b=$(busy_fraction); [ "$b" -ge 10 ] && [ $waited -lt 60 ]; do
    waited=$((waited + 1))
  done
  [ $waited -gt 0 ] && echo "  (waited ${waited}s for a quiet machine, busy ${b}%)" >&2
  return 0
}

[ -s "$out" ] || echo "round,isa,backend,config,variant,role,shape,layout,threads,M,N,K,ta,tb,reps,median_us,gflops_median,gflops_best,others" > "$out"
n=${#configs[@]}
for ((r = 1; r <= rounds; r++)); do
  for t in 1 2; do
    for ((j = 0; j < n; j++)); do
      # rotate the order every round so that no backend always runs right after the same one
      IFS='|' read -r name isa exe envs <<< "${configs[$(( (j + r) % n ))]}"
      [ -x "$build/$exe" ] || continue
      wait_quiet
      echo "round $r threads $t: $name ($isa) $envs" >&2
      env OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t BLIS_NUM_THREADS=$t $envs \
        "$build/$exe" --threads "$t" --min-time "$min_time" --min-reps "$min_reps" 2>>"$out.log" \
        | sed "s/^/$r,$isa,/" >> "$out"
    done
  done
done
