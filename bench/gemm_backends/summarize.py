#!/usr/bin/env python3
"""Turns run.sh's CSV into Markdown tables (one per ISA setting).

    python3 bench/gemm_backends/summarize.py OUT.csv [MAX_OTHERS]

Each cell is "1 thread / 2 threads" GFLOP/s: the median over rounds of each run's median time.
Samples taken while other processes used more than MAX_OTHERS (default 0.2) of the machine are
dropped; a cell with no clean sample shows the median of all samples followed by "?".
"""
import csv
import statistics
import sys
from collections import defaultdict

path = sys.argv[1]
max_others = float(sys.argv[2]) if len(sys.argv) > 2 else 0.2

ROLES = {"step": "recurrent step h·U", "proj": "input projection x·W", "dW": "weight grad hᵀ·dZ",
         "dh": "dh = dZ·Uᵀ"}
COLUMNS = [("openblas", "sgemm"), ("blis", "sgemm"), ("onednn", "sgemm"), ("onednn", "matmul"),
           ("onednn", "matmul_packed"), ("libxsmm", "jit_tiled")]
COLUMN_NAMES = {("openblas", "sgemm"): "OpenBLAS", ("blis", "sgemm"): "BLIS",
                ("onednn", "sgemm"): "oneDNN sgemm", ("onednn", "matmul"): "oneDNN matmul",
                ("onednn", "matmul_packed"): "oneDNN matmul packed", ("libxsmm", "jit_tiled"): "libxsmm"}

clean = defaultdict(list)
every = defaultdict(list)
configs = defaultdict(set)
rows = []
with open(path) as f:
    for r in csv.DictReader(f):
        variant = r["variant"]
        col_variant = "sgemm" if variant == "sgemv" else variant
        row = (r["role"], r["shape"], r["layout"], variant == "sgemv")
        if row not in rows:
            rows.append(row)
        key = (r["isa"], row, (r["backend"], col_variant), r["threads"])
        g = float(r["gflops_median"])
        every[key].append(g)
        if float(r["others"]) <= max_others:
            clean[key].append(g)
        configs[(r["isa"], r["backend"])].add(r["config"])


def cell(isa, row, col):
    parts = []
    for t in ("1", "2"):
        key = (isa, row, col, t)
        if clean[key]:
            parts.append(f"{statistics.median(clean[key]):.0f}")
        elif every[key]:
            parts.append(f"{statistics.median(every[key]):.0f}?")
        else:
            parts.append("–")
    return " / ".join(parts) if any(p != "–" for p in parts) else "n/a"


for isa in sorted({k[0] for k in every}, key=lambda s: (s != "avx2", s)):
    print(f"\n#### ISA setting: {isa}\n")
    for (i, b), cfg in sorted(configs.items()):
        if i == isa:
            print(f"- {b}: {', '.join(sorted(c.rsplit(' omp=', 1)[0] for c in cfg))}")
    print()
    cols = [c for c in COLUMNS if any(k[0] == isa and k[2] == c for k in every)]
    print("| op | M×N×K | layout | " + " | ".join(COLUMN_NAMES[c] for c in cols) + " |")
    print("|---|---|---|" + "---|" * len(cols))
    for row in rows:
        role, shape, layout, gemv = row
        label = ROLES[role] + (" (**sgemv**)" if gemv else "")
        cells = [cell(isa, row, c) for c in cols]
        if all(c == "n/a" for c in cells):
            continue
        print(f"| {label} | {shape} | {layout} | " + " | ".join(cells) + " |")

n_all = sum(len(v) for v in every.values())
n_clean = sum(len(v) for v in clean.values())
print(f"\n{n_clean} of {n_all} samples clean (others ≤ {max_others:.2f}).")
