#!/usr/bin/python3
"""Writes the ONNX import fixtures (tests/interop/onnx_import_test.cpp, docs/interop/onnx-import.md).

Usage: torch_onnx_cases.py OUTDIR [--dump]

For every case below: builds a small seeded torch model, exports it with torch.onnx.export (input
"x" with a dynamic batch axis, output "y"), runs it in torch on a fixed input and writes
  OUTDIR/<case>.onnx    the exported graph
  OUTDIR/<case>_x.npy   the input, batch-first [N, T, F] float32 (or [N, T] int64 token ids)
  OUTDIR/<case>_y.npy   torch's output, batch-first, float32
Inputs and outputs are written batch-first even for batch_first=False models (the imported recur
model is batch-first; the torch model saw the transposed input). Each case also writes
<case>_x1.npy / <case>_y1.npy with batch size 1, run through the same file.
Error cases (err_*.onnx) only write the .onnx file. --dump prints every exported graph.
"""
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn

warnings.filterwarnings("ignore")  # torch.onnx.export warns about batch sizes and shape inference
torch.manual_seed(0)
torch.set_num_threads(1)


class Rnn(nn.Module):
    """A recurrent layer (or stack), then optional glue: take = 'last' takes out[:, -1, :]
    (batch-first) or out[-1] (time-major), 'slice' takes out[:, -1:, :].squeeze(1), 'all' keeps
    every step ('all_tm': a time-major output stays time-major); then an optional Linear and an
    optional activation."""

    def __init__(self, rnn, take="all", linear=None, act=None, embed=None):
        super().__init__()
        self.embed = embed
        self.rnn = rnn
        self.take = take
        self.fc = linear
        self.act = act

    def forward(self, x):
        if self.embed is not None:
            x = self.embed(x)
        out, _ = self.rnn(x)
        if self.take == "last":
            out = out[:, -1, :] if self.rnn.batch_first else out[-1]
        elif self.take == "slice":
            out = out[:, -1:, :].squeeze(1)
        elif not self.rnn.batch_first and self.take != "all_tm":
            out = out.transpose(0, 1)  # the case's output is batch-first
        if self.fc is not None:
            out = self.fc(out)
        if self.act is not None:
            out = self.act(out)
        return out


class HnConcat(nn.Module):
    """Bidirectional layer whose final states h_n of both directions are concatenated."""

    def __init__(self, rnn, linear):
        super().__init__()
        self.rnn = rnn
        self.fc = linear

    def forward(self, x):
        _, h = self.rnn(x)
        if isinstance(h, tuple):
            h = h[0]
        return self.fc(torch.cat([h[-2], h[-1]], dim=1))


class TwoBranch(nn.Module):
    """An LSTM and a GRU over the same input, last steps concatenated, then a Linear."""

    def __init__(self):
        super().__init__()
        self.a = nn.LSTM(3, 4, batch_first=True)
        self.b = nn.GRU(3, 2, batch_first=True)
        self.fc = nn.Linear(6, 2)

    def forward(self, x):
        a, _ = self.a(x)
        b, _ = self.b(x)
        return self.fc(torch.cat([a[:, -1], b[:, -1]], dim=1))


class TwoBranchAdd(nn.Module):
    """Two GRUs over the same input, every step, added, then a Linear."""

    def __init__(self):
        super().__init__()
        self.a = nn.GRU(3, 4, batch_first=True)
        self.b = nn.GRU(3, 4, batch_first=True)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.a(x)[0] + self.b(x)[0])


class Cumsum(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 4, batch_first=True)

    def forward(self, x):
        out, _ = self.rnn(torch.cumsum(x, dim=1))
        return out


class OnesH0(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 4, batch_first=True)

    def forward(self, x):
        h0 = torch.ones(1, x.shape[0], 4)
        c0 = torch.zeros(1, x.shape[0], 4)
        out, _ = self.rnn(x, (h0, c0))
        return out


class ParamH0(nn.Module):
    """A learned initial state (a parameter for a batch of 4): a nonzero constant."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(3, 4, batch_first=True)
        self.h0 = nn.Parameter(torch.randn(1, 4, 4))

    def forward(self, x):
        out, _ = self.rnn(x, self.h0)
        return out


class SeqAndLast(nn.Module):
    """Returns both the whole output sequence and a Linear of its last step."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 4, batch_first=True)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1]), out


class TwoInputs(nn.Module):
    """Two graph inputs of different lengths and widths: an LSTM over one, a GRU over the other,
    their last steps concatenated, then a Linear."""

    def __init__(self):
        super().__init__()
        self.a = nn.LSTM(3, 4, batch_first=True)
        self.b = nn.GRU(2, 5, batch_first=True)
        self.fc = nn.Linear(9, 2)

    def forward(self, a, b):
        return self.fc(torch.cat([self.a(a)[0][:, -1], self.b(b)[0][:, -1]], dim=1))


class EncoderDecoder(nn.Module):
    """A decoder over b starting from the encoder's final states over a (h_n, c_n for LSTM),
    a Linear on every decoder step; with `c_out` the encoder's c_n is a second output."""

    def __init__(self, cell, c_out=False):
        super().__init__()
        self.enc = cell(3, 4, batch_first=True)
        self.dec = cell(2, 4, batch_first=True)
        self.fc = nn.Linear(4, 2)
        self.c_out = c_out

    def forward(self, a, b):
        _, state = self.enc(a)
        out, _ = self.dec(b, state)
        if self.c_out:
            return self.fc(out), state[1][0]
        return self.fc(out)


def write_two_input_case(out_dir, rng, name, module, outputs=("y",)):
    """<name>.onnx (inputs a [N, 5, 3] and b [N, 7, 2]); <name>_{a,b,<outputs>}{,1}.npy."""
    module.eval()
    batches = [(rng.standard_normal((n, 5, 3)).astype(np.float32),
                rng.standard_normal((n, 7, 2)).astype(np.float32)) for n in (4, 1)]
    with torch.no_grad():
        a, b = (torch.from_numpy(v) for v in batches[0])
        axes = {"a": {0: "N"}, "b": {0: "N"}}
        axes.update({o: {0: "N"} for o in outputs})
        torch.onnx.export(module, (a, b), os.path.join(out_dir, name + ".onnx"),
                          opset_version=14, input_names=["a", "b"], output_names=list(outputs),
                          dynamic_axes=axes)
        for suffix, (a, b) in zip(("", "1"), batches):
            ys = module(torch.from_numpy(a), torch.from_numpy(b))
            ys = ys if isinstance(ys, tuple) else (ys,)
            parts = [("a", a), ("b", b)] + [(o, y.numpy().astype(np.float32))
                                            for o, y in zip(outputs, ys)]
            for part, v in parts:
                np.save(os.path.join(out_dir, f"{name}_{part}{suffix}.npy"), v)


def cases():
    """(name, module, batch_first input?, token ids vocabulary or 0, opset). A case whose name
    ends in _tm returns a time-major output [T, N, F]; its _y.npy is written batch-first."""
    return [
        ("lstm_last_linear", Rnn(nn.LSTM(3, 5, batch_first=True), "last", nn.Linear(5, 2)), True, 0, 14),
        ("gru_seq_linear", Rnn(nn.GRU(3, 6, batch_first=True), "all", nn.Linear(6, 2)), True, 0, 13),
        ("rnn_tanh_last", Rnn(nn.RNN(3, 4, batch_first=True), "last", nn.Linear(4, 3), nn.Tanh()), True, 0, 12),
        ("rnn_relu_seq", Rnn(nn.RNN(3, 4, nonlinearity="relu", batch_first=True), "all"), True, 0, 11),
        ("lstm_2layer", Rnn(nn.LSTM(3, 5, num_layers=2, batch_first=True), "last", nn.Linear(5, 1), nn.Sigmoid()), True, 0, 14),
        ("bilstm_seq", Rnn(nn.LSTM(3, 4, bidirectional=True, batch_first=True), "all", nn.Linear(8, 2)), True, 0, 13),
        ("bigru_seq", Rnn(nn.GRU(3, 4, bidirectional=True, batch_first=True), "all", nn.Linear(8, 2), nn.ReLU()), True, 0, 11),
        ("bigru_hn", HnConcat(nn.GRU(3, 4, bidirectional=True, batch_first=True), nn.Linear(8, 2)), True, 0, 14),
        ("lstm_time_major", Rnn(nn.LSTM(3, 5), "all", nn.Linear(5, 2)), False, 0, 14),
        ("gru_time_major_last", Rnn(nn.GRU(3, 5, num_layers=2), "last", nn.Linear(5, 2)), False, 0, 12),
        ("rnn_seq_tm", Rnn(nn.RNN(3, 4), "all_tm"), False, 0, 13),
        ("gru_relu_seq", Rnn(nn.GRU(3, 4, batch_first=True), "all", None, nn.ReLU()), True, 0, 14),
        ("lstm_slice_last", Rnn(nn.LSTM(3, 4, batch_first=True, num_layers=2, dropout=0.3), "slice",
                                nn.Linear(4, 2), nn.Tanh()), True, 0, 13),
        ("two_branch", TwoBranch(), True, 0, 14),
        ("two_branch_add", TwoBranchAdd(), True, 0, 12),
        ("embed_lstm_softmax", Rnn(nn.LSTM(4, 6, batch_first=True), "last", nn.Linear(6, 3), nn.Softmax(dim=-1),
                                   embed=nn.Embedding(20, 4)), True, 20, 14),
        ("err_cumsum", Cumsum(), True, 0, 14),
        ("err_bilstm_last", Rnn(nn.LSTM(3, 4, bidirectional=True, batch_first=True), "last"), True, 0, 14),
        ("err_h0_ones", OnesH0(), True, 0, 14),
        ("err_h0_param", ParamH0(), True, 0, 13),
        ("err_seq_and_last", SeqAndLast(), True, 0, 14),
    ]


def main():
    out_dir = sys.argv[1]
    dump = "--dump" in sys.argv[2:]
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(7)
    for name, module, batch_first, vocab, opset in cases():
        module.eval()
        # Batch-first inputs [N, T, F] (ids [N, T]); N = 4 and N = 1 through the same file.
        if vocab:
            xs = [rng.integers(0, vocab, size=(n, 5)).astype(np.int64) for n in (4, 1)]
        else:
            xs = [rng.standard_normal((n, 5, 3)).astype(np.float32) for n in (4, 1)]
        to_torch = (lambda a: torch.from_numpy(a)) if batch_first else (
            lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(1, 0, 2))))
        path = os.path.join(out_dir, name + ".onnx")
        with torch.no_grad():
            torch.onnx.export(module, (to_torch(xs[0]),), path, opset_version=opset,
                              input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {1 if not batch_first else 0: "N"}, "y": {0: "N"}})
            if dump:
                print("=====", name)
                print(torch.onnx.export_to_pretty_string(
                    module, (to_torch(xs[0]),), opset_version=opset, input_names=["x"],
                    output_names=["y"], dynamic_axes={"x": {1 if not batch_first else 0: "N"},
                                                      "y": {0: "N"}}))
            if name.startswith("err_"):
                continue
            for suffix, x in zip(("", "1"), xs):
                y = module(to_torch(x)).numpy().astype(np.float32)
                if name.endswith("_tm"):
                    y = np.ascontiguousarray(y.transpose(1, 0, 2))
                np.save(os.path.join(out_dir, f"{name}_x{suffix}.npy"), x)
                np.save(os.path.join(out_dir, f"{name}_y{suffix}.npy"), y)
    write_two_input_case(out_dir, rng, "two_inputs", TwoInputs())
    write_two_input_case(out_dir, rng, "enc_dec_lstm", EncoderDecoder(nn.LSTM, c_out=True),
                         ("y", "c"))
    write_two_input_case(out_dir, rng, "enc_dec_gru", EncoderDecoder(nn.GRU))


if __name__ == "__main__":
    main()
