#!/usr/bin/python3
"""Writes the .npy / .npz seeds of fuzz/corpus/npy and fuzz/corpus/npz with numpy (Debian's
python3-numpy, /usr/bin/python3). Run by `scripts/fuzz --seeds`; the outputs are committed.

    make_numpy_seeds.py <corpus dir>
"""
import io
import os
import sys
import zipfile

import numpy as np


def main():
    out = sys.argv[1]
    npy_dir = os.path.join(out, "npy")
    npz_dir = os.path.join(out, "npz")
    os.makedirs(npy_dir, exist_ok=True)
    os.makedirs(npz_dir, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = {
        "f4_2x3": np.arange(6, dtype="<f4").reshape(2, 3),
        "f8_vec": rng.standard_normal(5).astype("<f8"),
        "i4_3d": np.arange(24, dtype="<i4").reshape(2, 3, 4),
        "i8_scalar": np.array(7, dtype="<i8"),
        "u1_empty": np.zeros((0, 4), dtype="|u1"),
        "u1_ids": np.array([[1, 2, 3], [4, 0, 0]], dtype="|u1"),
        "f4_fortran": np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)),  # rejected
        "f4_big_endian": np.arange(3, dtype=">f4"),  # rejected
    }
    for name, a in arrays.items():
        np.save(os.path.join(npy_dir, name + ".npy"), a)
    # Format 2.0 (a header over 65535 bytes is what makes numpy pick it; write it explicitly).
    with open(os.path.join(npy_dir, "f4_v2.npy"), "wb") as f:
        np.lib.format.write_array(f, np.arange(4, dtype="<f4"), version=(2, 0))
    with open(os.path.join(npy_dir, "f4_v3.npy"), "wb") as f:
        np.lib.format.write_array(f, np.arange(4, dtype="<f4"), version=(3, 0))

    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    y = np.array([0, 1], dtype=np.int64)
    np.savez(os.path.join(npz_dir, "xy.npz"), x=x, y=y)
    np.savez(os.path.join(npz_dir, "positional.npz"), np.arange(4, dtype=np.float64),
             np.zeros((2, 2), dtype=np.uint8))
    np.savez(os.path.join(npz_dir, "empty_member.npz"), e=np.zeros((0,), dtype=np.float32))
    np.savez_compressed(os.path.join(npz_dir, "compressed.npz"), x=x)  # rejected (deflated)
    # A zip64 archive as numpy writes large members (force_zip64), small here.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        with z.open("x.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array(f, x)
    with open(os.path.join(npz_dir, "zip64.npz"), "wb") as f:
        f.write(buf.getvalue())


if __name__ == "__main__":
    main()
