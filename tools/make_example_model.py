#!/usr/bin/python3
"""Trains the quick start's example model with PyTorch and writes it in recur's model format.

LSTM(32) + Dense(1) forecasting next month's airline passengers from the previous 12 months.
The series grows, so each window is made stationary: inputs are log(y) minus the log of the
window's last value, the target is log(next / last), and the forecast is last * exp(output).
The last 48 months are the test span. Writes into examples/airline/:
  model.safetensors   the model (DESIGN.md §3: Keras layouts, Keras-shaped JSON), the transform in
                      __metadata__["recur.preprocessing"]
  x_test.npy          float32 [48, 12, 1] transformed input windows of the test span
  y_test.npy          float32 [48] actual passengers (thousands) to compare with
  last_test.npy       float32 [48] each window's last value (forecast = last * exp(output))
Run: /usr/bin/python3 tools/make_example_model.py   (Debian python3-torch, python3-numpy)
"""
import csv
import json
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "examples", "airline")
LOOKBACK, UNITS, TEST = 12, 32, 48


def write_safetensors(path, metadata, tensors):
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, arr in tensors:
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    torch.manual_seed(7)
    torch.set_num_threads(1)
    with open(os.path.join(ROOT, "data", "airline_passengers.csv")) as f:
        series = np.array([float(r["passengers"]) for r in csv.DictReader(f)], dtype=np.float64)
    logs = np.log(series)
    xs = np.stack([logs[i:i + LOOKBACK] - logs[i + LOOKBACK - 1]
                   for i in range(len(series) - LOOKBACK)])
    ys = np.array([logs[i + LOOKBACK] - logs[i + LOOKBACK - 1]
                   for i in range(len(series) - LOOKBACK)])
    last = series[LOOKBACK - 1:-1]
    split = len(ys) - TEST
    x_train = torch.tensor(xs[:split, :, None], dtype=torch.float32)
    y_train = torch.tensor(ys[:split, None], dtype=torch.float32)

    lstm = torch.nn.LSTM(1, UNITS, batch_first=True)
    dense = torch.nn.Linear(UNITS, 1)
    params = list(lstm.parameters()) + list(dense.parameters())
    opt = torch.optim.Adam(params, lr=0.01)
    for epoch in range(600):
        opt.zero_grad()
        out, _ = lstm(x_train)
        loss = torch.mean((dense(out[:, -1]) - y_train) ** 2)
        loss.backward()
        opt.step()

    x_test = xs[split:, :, None].astype(np.float32)
    with torch.no_grad():
        out, _ = lstm(torch.tensor(x_test))
        pred = last[split:] * np.exp(dense(out[:, -1]).numpy()[:, 0])
    actual = series[-TEST:]
    rmse = float(np.sqrt(np.mean((pred - actual) ** 2)))
    naive = float(np.sqrt(np.mean((series[-TEST - 12:-12] - actual) ** 2)))
    print(f"train loss {loss.item():.5f}; test RMSE {rmse:.1f} (seasonal naive {naive:.1f})")

    # Keras layouts: kernel = W_ihᵀ [1, 4u], recurrent_kernel = W_hhᵀ [u, 4u], bias = b_ih + b_hh;
    # PyTorch's gate order i, f, g, o is Keras's i, f, c, o.
    sd = {k: v.detach().numpy() for k, v in lstm.state_dict().items()}
    tensors = [("lstm/kernel", sd["weight_ih_l0"].T), ("lstm/recurrent_kernel", sd["weight_hh_l0"].T),
               ("lstm/bias", sd["bias_ih_l0"] + sd["bias_hh_l0"]),
               ("dense/kernel", dense.weight.detach().numpy().T),
               ("dense/bias", dense.bias.detach().numpy())]
    model = {"class_name": "Sequential", "config": {"name": "airline_forecaster", "layers": [
        {"class_name": "LSTM", "config": {"name": "lstm", "units": UNITS, "activation": "tanh",
                                          "recurrent_activation": "sigmoid", "use_bias": True,
                                          "return_sequences": False,
                                          "batch_input_shape": [None, LOOKBACK, 1]}},
        {"class_name": "Dense", "config": {"name": "dense", "units": 1, "activation": "linear"}}]}}
    prep = {"transform": "log_ratio_to_last", "lookback": LOOKBACK,
            "horizon": 1, "column": "passengers", "trained_with": "PyTorch (tools/make_example_model.py)"}
    os.makedirs(OUT, exist_ok=True)
    write_safetensors(os.path.join(OUT, "model.safetensors"),
                      {"recur.format": "1", "recur.model": json.dumps(model),
                       "recur.preprocessing": json.dumps(prep)}, tensors)
    np.save(os.path.join(OUT, "x_test.npy"), x_test)
    np.save(os.path.join(OUT, "y_test.npy"), actual.astype(np.float32))
    np.save(os.path.join(OUT, "last_test.npy"), last[split:].astype(np.float32))


if __name__ == "__main__":
    sys.exit(main())
