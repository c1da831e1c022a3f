"""Writes the ONNX seeds (fuzz/corpus/onnx_import): tiny models exported by torch.onnx.export,
the shapes recur's importer accepts (LSTM, GRU, RNN, bidirectional, stacked, Embedding, Linear,
last step and all steps; two inputs with an encoder's final states starting a decoder), each a
few kilobytes.

    /usr/bin/python3 fuzz/seeds/make_onnx_seeds.py fuzz/corpus
"""
import os
import sys
import warnings

import torch

warnings.filterwarnings("ignore")
out = os.path.join(sys.argv[1], "onnx_import")
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)


class Last(torch.nn.Module):
    def __init__(self, rnn, head):
        super().__init__()
        self.rnn, self.head = rnn, head

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y[:, -1])


class All(Last):
    def forward(self, x):
        y, _ = self.rnn(x)
        return torch.softmax(self.head(y), -1)


class Embed(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(6, 3)
        self.rnn = torch.nn.GRU(3, 2, batch_first=True)
        self.head = torch.nn.Linear(2, 2)

    def forward(self, ids):
        y, _ = self.rnn(self.emb(ids))
        return self.head(y[:, -1])


class EncoderDecoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = torch.nn.LSTM(3, 2, batch_first=True)
        self.dec = torch.nn.LSTM(2, 2, batch_first=True)
        self.head = torch.nn.Linear(2, 1)

    def forward(self, a, b):
        _, state = self.enc(a)
        y, _ = self.dec(b, state)
        return self.head(y)


cases = {
    "lstm_last": (Last(torch.nn.LSTM(3, 2, batch_first=True), torch.nn.Linear(2, 1)), torch.randn(1, 4, 3)),
    "gru_bidir_all": (All(torch.nn.GRU(3, 2, batch_first=True, bidirectional=True), torch.nn.Linear(4, 2)), torch.randn(1, 4, 3)),
    "rnn_relu_stacked": (Last(torch.nn.RNN(2, 2, num_layers=2, nonlinearity="relu", batch_first=True), torch.nn.Linear(2, 1)), torch.randn(1, 3, 2)),
    "embedding_gru": (Embed(), torch.tensor([[1, 2, 3]])),
}
for name, (m, x) in cases.items():
    path = os.path.join(out, name + ".onnx")
    torch.onnx.export(m.eval(), (x,), path, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}}, opset_version=14)
    print(path, os.path.getsize(path))

path = os.path.join(out, "encoder_decoder.onnx")
torch.onnx.export(EncoderDecoder().eval(), (torch.randn(1, 4, 3), torch.randn(1, 3, 2)), path,
                  input_names=["a", "b"], output_names=["y"],
                  dynamic_axes={"a": {0: "batch"}, "b": {0: "batch"}}, opset_version=14)
print(path, os.path.getsize(path))
