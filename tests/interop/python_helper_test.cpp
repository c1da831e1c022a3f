// python/recur_torch.py (save_recur: a torch nn.Module -> a recur model file) against PyTorch: a
// script (kScript below) builds seeded torch models of the documented shapes, saves each with
// save_recur and writes an input and torch's output as .npy; recur loads each file and its
// predictions must match torch's within 1e-5. An unsupported module must raise an exception
// naming it.
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "recur/io/model_file.hpp"
#include "support/compare.hpp"
#include "support/files.hpp"

namespace recur {
namespace {

// argv: OUTDIR RECUR_SOURCE_DIR. Writes <case>.safetensors, <case>_x.npy, <case>_y.npy and
// error.txt (the message of the exception for an unsupported module).
const char* kScript = R"PY(
import os, sys
import numpy as np
import torch
import torch.nn as nn
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(sys.argv[2], "python"))
from recur_torch import save_recur, UnsupportedModule

out = sys.argv[1]
torch.manual_seed(0)
torch.set_num_threads(1)
rng = np.random.default_rng(3)

class TextClf(nn.Module):          # Embedding -> 2-layer LSTM -> Linear -> Softmax, last step
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(25, 6)
        self.rnn = nn.LSTM(6, 8, num_layers=2, batch_first=True)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(8, 4)
        self.act = nn.Softmax(dim=-1)
    def forward(self, x):
        o, _ = self.rnn(self.embed(x))
        return self.act(self.fc(self.drop(o[:, -1, :])))

class BiGruSeq(nn.Module):         # bidirectional GRU, every step -> Linear -> Tanh
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(3, 5, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(10, 2)
        self.act = nn.Tanh()
    def forward(self, x):
        o, _ = self.rnn(x)
        return self.act(self.fc(o))

class BiRnnLast(nn.Module):        # bidirectional relu RNN, both final states -> Linear
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(3, 4, nonlinearity="relu", batch_first=True, bidirectional=True)
        self.fc = nn.Linear(8, 1)
    def forward(self, x):
        _, h = self.rnn(x)
        return self.fc(torch.cat([h[-2], h[-1]], dim=1))

class TimeMajor(nn.Module):        # batch_first=False LSTM, last step -> Linear -> Sigmoid
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 6)
        self.fc = nn.Linear(6, 2)
        self.act = nn.Sigmoid()
    def forward(self, x):          # x [T, N, F]
        o, _ = self.rnn(x)
        return self.act(self.fc(o[-1]))

gru = nn.GRU(3, 5, batch_first=True)
lin = nn.Linear(5, 2)
def gru_all(x):                    # a plain list of modules, every step, then ReLU
    return torch.relu(lin(gru(x)[0]))

floats = lambda n: rng.standard_normal((n, 6, 3)).astype(np.float32)
cases = [
    ("text_clf", TextClf(), rng.integers(0, 25, size=(4, 7)).astype(np.int64), {}, None),
    ("bigru_seq", BiGruSeq(), floats(4), {"take": "all"}, None),
    ("birnn_last", BiRnnLast(), floats(4), {}, None),
    ("time_major", TimeMajor(), floats(4), {}, "tm"),
    ("gru_list", [gru, lin, nn.ReLU()], floats(3), {"take": "all"}, gru_all),
    ("single", nn.RNN(3, 4, batch_first=True), floats(2), {"take": "all"}, None),
]
with torch.no_grad():
    for name, model, x, kw, how in cases:
        if isinstance(model, nn.Module):
            model.eval()
        save_recur(model, os.path.join(out, name + ".safetensors"), **kw)
        xt = torch.from_numpy(x)
        if how == "tm":            # the recur model is batch-first; torch sees [T, N, F]
            y = model(xt.transpose(0, 1))
        elif callable(how):
            y = how(xt)
        elif name == "single":
            y = model(xt)[0]
        else:
            y = model(xt)
        np.save(os.path.join(out, name + "_x.npy"), x)
        np.save(os.path.join(out, name + "_y.npy"), y.numpy().astype(np.float32))

try:
    save_recur(nn.Sequential(nn.Conv1d(3, 3, 1), nn.LSTM(3, 4)), os.path.join(out, "bad.safetensors"))
    msg = "no exception"
except UnsupportedModule as e:
    msg = str(e)
open(os.path.join(out, "error.txt"), "w").write(msg)
)PY";

class PythonHelper : public testing::TempDirTest {};

TEST_F(PythonHelper, SavedModelsMatchTorch) {
  const std::string script = write("make_cases.py", kScript);
  const char* py = std::getenv("RECUR_PYTHON");
  std::string out;
  const int rc = testing::run_command(std::string(py && *py ? py : "/usr/bin/python3") + " " +
                                          script + " " + dir_.string() + " " + RECUR_SOURCE_DIR,
                                      &out);
  ASSERT_EQ(rc, 0) << out;
  for (const char* name :
       {"text_clf", "bigru_seq", "birnn_last", "time_major", "gru_list", "single"}) {
    std::unique_ptr<Model> model = load_model(path(std::string(name) + ".safetensors"));
    const Tensor x = testing::load_npy(path(std::string(name) + "_x.npy"));
    const Tensor want = testing::load_npy(path(std::string(name) + "_y.npy"));
    EXPECT_TRUE(testing::tensors_close(model->predict(x), want, 1e-5)) << name;
  }
  const std::string msg = testing::read_file(path("error.txt"));
  EXPECT_NE(msg.find("unsupported module '0' (Conv1d)"), std::string::npos) << msg;
}

}  // namespace
}  // namespace recur
