# Reference values for tests/unit/loss_test.cpp (LossOracle.*), from torch.nn.functional.
# Run: /usr/bin/python3 tests/oracle/loss_cases.py   (Debian python3-torch 1.13)
# The inputs are the float32 literals of loss_test.cpp, widened to double as recur does; each
# element loss is torch's reduction='none' value (mean over the last axis where Keras takes it),
# then reduced as recur/train/loss.hpp says: sum(w * m * l) / sum(m) (no mask: / number of rows).
import torch
import torch.nn.functional as F

def f32(v):
    return torch.tensor(v, dtype=torch.float32).double()

# rank 2: B = 2, U = 3, weights w2; rank 3: T = 2, B = 2, U = 3, weights w3, mask m3
P2 = f32([[0.2, 0.7, 0.1], [0.6, 0.3, 0.9]])          # probabilities (cce: row 2 sums to 1.8)
Z2 = f32([[1.5, -0.3, 0.2], [-2.0, 0.7, 3.1]])        # logits / regression outputs
R2 = f32([[0.5, -1.0, 0.3], [2.0, 0.1, -0.4]])        # regression targets
B2 = f32([[0.0, 1.0, 0.25], [1.0, 0.0, 1.0]])         # binary targets (one soft)
C2 = f32([[0.0, 1.0, 0.0], [0.2, 0.0, 0.8]])          # categorical targets (one soft)
S2 = torch.tensor([1, 2])                              # sparse ids
w2 = f32([0.5, 2.0])

P3 = f32([[[0.3, 0.3, 0.4], [0.05, 0.9, 0.05]], [[0.5, 0.25, 0.25], [0.8, 0.1, 0.1]]])
Z3 = f32([[[0.1, -1.2, 2.2], [0.4, 0.4, -0.9]], [[-1.7, 0.3, 1.1], [2.5, -0.5, 0.0]]])
R3 = f32([[[0.0, 0.5, -1.5], [1.2, 0.9, 0.2]], [[-0.1, -2.0, 0.6], [9.0, 9.0, 9.0]]])
B3 = f32([[[1.0, 0.0, 1.0], [0.0, 1.0, 0.5]], [[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]])
C3 = f32([[[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
S3 = torch.tensor([[2, 0], [1, 0]])
w3 = f32([0.5, 2.0])
m3 = f32([[1.0, 1.0], [1.0, 0.0]])

def reduce2(l):  # l [B]
    return float((w2 * l).sum() / l.shape[0])

def reduce3(l):  # l [T, B]
    return float((w3[None, :] * m3 * l).sum() / m3.sum())

def cce_probs(p, y):
    return -(y * torch.log(p / p.sum(-1, keepdim=True))).sum(-1)

def cce_logits(z, y):
    return F.cross_entropy(z.reshape(-1, z.shape[-1]), y.reshape(-1, y.shape[-1]),
                           reduction='none').reshape(z.shape[:-1])

def sparse_probs(p, k):
    q = torch.log(p / p.sum(-1, keepdim=True))
    return F.nll_loss(q.reshape(-1, q.shape[-1]), k.reshape(-1), reduction='none').reshape(k.shape)

def sparse_logits(z, k):
    return F.cross_entropy(z.reshape(-1, z.shape[-1]), k.reshape(-1),
                           reduction='none').reshape(k.shape)

cases = [
    ("mse", lambda p, r, b, c, k, z: F.mse_loss(z, r, reduction='none').mean(-1)),
    ("mae", lambda p, r, b, c, k, z: F.l1_loss(z, r, reduction='none').mean(-1)),
    ("huber_1", lambda p, r, b, c, k, z: F.huber_loss(z, r, reduction='none', delta=1.0).mean(-1)),
    ("huber_0.5", lambda p, r, b, c, k, z: F.huber_loss(z, r, reduction='none', delta=0.5).mean(-1)),
    ("bce", lambda p, r, b, c, k, z: F.binary_cross_entropy(p, b, reduction='none').mean(-1)),
    ("bce_logits", lambda p, r, b, c, k, z:
        F.binary_cross_entropy_with_logits(z, b, reduction='none').mean(-1)),
    ("cce", lambda p, r, b, c, k, z: cce_probs(p, c)),
    ("cce_logits", lambda p, r, b, c, k, z: cce_logits(z, c)),
    ("sparse", lambda p, r, b, c, k, z: sparse_probs(p, k)),
    ("sparse_logits", lambda p, r, b, c, k, z: sparse_logits(z, k)),
]
for name, fn in cases:
    v2 = reduce2(fn(P2, R2, B2, C2, S2, Z2))
    v3 = reduce3(fn(P3, R3, B3, C3, S3, Z3))
    print(f"{name:14s} rank2 {v2:.17g}  rank3 {v3:.17g}")
