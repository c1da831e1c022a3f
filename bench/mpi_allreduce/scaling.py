#!/usr/bin/python3
"""Data-parallel throughput on one machine (docs/SCALING.md): `mpirun -np 2 recur fit` with one
GEMM thread per rank against one `recur fit` process with two threads (and with one), at the
same global batch, runs alternated, medians reported with the load average.

  bench/mpi_allreduce/scaling.py --recur build/recur [--units 64 --input 16 --steps 50
                                  --rows 4096 --batch 32 --epochs 2 --reps 5]

Writes a Sequential [LSTM(units), Dense(1)] model file and random x [rows, steps, input],
y [rows, 1] into a temporary folder. Training seconds = median wall time of the run with
--epochs E minus the median of the same command with --epochs 0 (start-up, loading, mpirun).
"""
import argparse, json, os, struct, subprocess, statistics, tempfile, time
import numpy as np


def write_model(path, units, inp):
    arch = {"class_name": "Sequential", "config": {"name": "bench", "layers": [
        {"class_name": "LSTM", "config": {
            "activation": "tanh", "batch_input_shape": [None, None, inp],
            "bias_initializer": {"class_name": "Zeros", "config": {}}, "dropout": 0.0,
            "dtype": "float32", "go_backwards": False,
            "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
            "name": "lstm", "recurrent_activation": "sigmoid", "recurrent_dropout": 0.0,
            "recurrent_initializer": {"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}},
            "return_sequences": False, "return_state": False, "stateful": False, "trainable": True,
            "unit_forget_bias": True, "units": units, "unroll": False, "use_bias": True}},
        {"class_name": "Dense", "config": {
            "activation": "linear", "bias_initializer": {"class_name": "Zeros", "config": {}},
            "dtype": "float32", "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
            "name": "dense", "trainable": True, "units": 1, "use_bias": True}}]}}
    rng = np.random.default_rng(1)
    tensors = {"lstm/kernel": rng.uniform(-0.1, 0.1, (inp, 4 * units)),
               "lstm/recurrent_kernel": rng.uniform(-0.1, 0.1, (units, 4 * units)),
               "lstm/bias": np.zeros(4 * units), "dense/kernel": rng.uniform(-0.1, 0.1, (units, 1)),
               "dense/bias": np.zeros(1)}
    header = {"__metadata__": {"recur.format": "1", "recur.model": json.dumps(arch)}}
    blobs, off = [], 0
    for name, t in tensors.items():
        b = t.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    return sum(t.size for t in tensors.values())


def timed(cmd, env):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, shell=True, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"failed: {cmd}\n{r.stdout}\n{r.stderr}")
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--recur", default="build/recur")
    ap.add_argument("--units", type=int, default=64)
    ap.add_argument("--input", type=int, default=16)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--rows", type=int, default=4096)
    ap.add_argument("--batch", type=int, default=32, help="per-rank batch; one process uses 2x")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--mpirun-args", default="--bind-to core",
                    help="extra mpirun options (e.g. '--bind-to none --mca mpi_yield_when_idle 1')")
    a = ap.parse_args()
    d = tempfile.mkdtemp()
    params = write_model(f"{d}/m.safetensors", a.units, a.input)
    rng = np.random.default_rng(2)
    np.save(f"{d}/x.npy", rng.standard_normal((a.rows, a.steps, a.input)).astype("float32"))
    np.save(f"{d}/y.npy", rng.standard_normal((a.rows, 1)).astype("float32"))
    base = os.environ.copy()
    base.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_btl="self,vader",
                OMPI_MCA_btl_vader_single_copy_mechanism="none")
    fit = (f"{a.recur} fit --model {d}/m.safetensors --x {d}/x.npy --y {d}/y.npy --loss mse "
           f"--quiet --out {d}/out.safetensors --batch-size ")
    runs = {
        "mpirun -np 2, 1 thread each": ("1", f"mpirun {a.mpirun_args} -np 2 {fit}{a.batch}"),
        "1 process, 2 threads": ("2", f"{fit}{2 * a.batch}"),
        "1 process, 1 thread": ("1", f"{fit}{2 * a.batch}"),
    }
    times = {k: {0: [], a.epochs: []} for k in runs}
    loads = [os.getloadavg()[0]]
    for _ in range(a.reps):
        for name, (threads, cmd) in runs.items():
            env = dict(base, RECUR_NUM_THREADS=threads)
            for e in (a.epochs, 0):
                times[name][e].append(timed(f"{cmd} --epochs {e}", env))
        loads.append(os.getloadavg()[0])
    steps = a.epochs * -(-a.rows // (2 * a.batch))
    print(f"# LSTM({a.units}) + Dense(1), input {a.input}, T {a.steps}, {params} parameters "
          f"({params * 4} gradient bytes); {a.rows} rows, global batch {2 * a.batch}, "
          f"{a.epochs} epochs = {steps} steps; {a.reps} alternated reps")
    print(f"# mpirun {a.mpirun_args}")
    print(f"# 1-min load average during the runs: median {statistics.median(loads):.1f} "
          f"(min {min(loads):.1f}, max {max(loads):.1f}) on {os.cpu_count()} cores")
    ref = None
    for name in runs:
        t = statistics.median(times[name][a.epochs]) - statistics.median(times[name][0])
        rate = a.epochs * a.rows / t
        ref = ref or rate
        print(f"{name:30s} train {t:7.2f} s  {1e3 * t / steps:7.2f} ms/step  {rate:9.0f} rows/s"
              f"  (start-up {statistics.median(times[name][0]):.2f} s)")


if __name__ == "__main__":
    main()
