#!/usr/bin/env python3
"""Writes data/seq2seq_dates.tsv: dates written in eight human formats -> ISO 8601.

    python3 tools/make_seq2seq_data.py [--rows 10000] [--seed 2026] [--out data/seq2seq_dates.tsv]

Each row is `source<TAB>target`, e.g. `Nov 24, 2026<TAB>2026-11-24`. Dates are drawn uniformly
from 1950-01-01 .. 2049-12-31; the format is drawn uniformly from FORMATS. Standard library only
and seeded: the same arguments give the same bytes (the file's SHA-256 is in data/README.md).
"""
import argparse
import datetime
import random

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def fmt(d: datetime.date, kind: int) -> str:
    month, short = MONTHS[d.month - 1], MONTHS[d.month - 1][:3]
    if kind == 0:
        return f"{d.day} {month} {d.year}"               # 24 November 2026
    if kind == 1:
        return f"{short} {d.day}, {d.year}"              # Nov 24, 2026
    if kind == 2:
        return f"{month} {d.day}, {d.year}"              # November 24, 2026
    if kind == 3:
        return f"{d.day:02d} {short.upper()} {d.year}"   # 24 NOV 2026
    if kind == 4:
        return f"{d.day:02d}.{d.month:02d}.{d.year}"     # 24.11.2026
    if kind == 5:
        return f"{d.year}/{d.month}/{d.day}"             # 2026/11/24
    if kind == 6:
        return f"{DAYS[d.weekday()]}, {d.day} {month} {d.year}"  # Tuesday, 24 November 2026
    return f"{short.lower()} {d.day} {d.year}"           # nov 24 2026


FORMATS = 8


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10000)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--out", default="data/seq2seq_dates.tsv")
    a = p.parse_args()
    rng = random.Random(a.seed)
    first = datetime.date(1950, 1, 1).toordinal()
    last = datetime.date(2049, 12, 31).toordinal()
    lines = ["source\ttarget"]
    for _ in range(a.rows):
        d = datetime.date.fromordinal(rng.randint(first, last))
        lines.append(f"{fmt(d, rng.randrange(FORMATS))}\t{d.isoformat()}")
    with open(a.out, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
