"""Peak memory (RSS) of reading an upload within the server's default limits: issue 27's bomb (a
500 MB CSV of zeros gzipped to about 1 MB, the issue's was 1.7 MB, one bad cell in its last row),
the same bomb as the Kaggle test.csv of a submission, 200 MB of one endless line (refused by its
unpacked size, not its rows), a valid file over the image limit, and the largest kind of file
that is accepted (60,000 MNIST-like images, i.e. the full MNIST train CSV), also with a bad cell in a last row
(the careful pass that names the cell).

Each case runs in a fresh process (``python -c``) that reads the file's bytes, then calls
``data.load_dataset`` as the app does (``ui.host.read_limits``: NNMATH_MAX_UPLOAD_MB,
NNMATH_MAX_UNPACKED_MB, NNMATH_MAX_IMAGES at their defaults) and reports its peak RSS
(``VmHWM``) and its RSS before the call. Run: ``python -m bench.bench_upload``.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.machine import cpu_model

HEADER = "label," + ",".join(f"pixel{i}" for i in range(784)) + "\n"
CHILD = r"""
import json, sys, time
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
import data
from engine.limits import Limits
lim = Limits()
path, part = sys.argv[1], sys.argv[2]
raw = open(path, "rb").read()
before = status("VmRSS")
t0 = time.perf_counter()
try:
    ds = data.load_dataset(raw, name=path.rsplit("/", 1)[-1], part=part,
                           max_bytes=lim.max_upload_bytes, max_unpacked=lim.max_unpacked_bytes,
                           max_images=lim.max_images)
    outcome = f"accepted: {ds.n:,} images"
except data.DataError as e:
    outcome = "refused: " + str(e)
print(json.dumps({"outcome": outcome, "seconds": time.perf_counter() - t0,
                  "before": before, "peak": status("VmHWM")}))
"""


def write_bomb(path: Path, megabytes: int = 500) -> None:
    """A CSV of zeros (header + rows of label 0 and 784 zero pixels) of about ``megabytes``,
    its last row with one bad cell, gzipped (level 6, gzip's default) while it is written (never
    in memory)."""
    row = ("0," + ",".join(["0"] * 784) + "\n").encode()
    block = row * 5000  # 7.85 MB
    rows = megabytes * 1_000_000 // len(row)
    with gzip.open(path, "wb", compresslevel=6) as f:
        f.write(HEADER.encode())
        for _ in range(rows // 5000):
            f.write(block)
        f.write(row * (rows % 5000 - 1))
        f.write(("0," + ",".join(["0"] * 783) + ",x\n").encode())


def write_line(path: Path, megabytes: int = 200) -> None:
    """One CSV line of ``megabytes`` of zeros, no newline at all, gzipped as it is written."""
    block = b"0," * 4_000_000  # 8 MB
    with gzip.open(path, "wb", compresslevel=6) as f:
        for _ in range(megabytes // 8):
            f.write(block)


def write_digits(path: Path, n: int, bad_last_row: bool = False) -> None:
    """``n`` MNIST images as Kaggle's train.csv, gzipped: the embedded sample, repeated; with
    ``bad_last_row``, one more row whose last cell is not a number."""
    import data

    sample = data.load_sample()
    reps = -(-n // sample.n)
    images = np.tile(sample.X, (reps, 1))[:n]
    labels = np.tile(sample.labels, reps)[:n]
    with gzip.open(path, "wt", compresslevel=6) as f:
        f.write(HEADER)
        for start in range(0, n, 5000):
            block = np.column_stack([labels[start : start + 5000], images[start : start + 5000]])
            f.write("\n".join(",".join(map(str, r)) for r in block.tolist()) + "\n")
        if bad_last_row:
            f.write("0," + ",".join(["0"] * 783) + ",x\n")


def measure(path: Path, part: str = "train") -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), part],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from engine.limits import Limits

    lim = Limits()
    quick = bool(os.environ.get("BENCH_QUICK"))
    print(
        f"{cpu_model()}, {os.cpu_count()} cores; limits: upload {lim.max_upload_mb:g} MB, "
        f"unpacked {lim.max_unpacked_mb:g} MB, {lim.max_images:,} images (the defaults)"
    )
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        bomb = folder / "zeros.csv.gz"
        write_bomb(bomb, 50 if quick else 500)
        valid = folder / "train.csv.gz"
        write_digits(valid, 6_000 if quick else 60_000)
        broken = folder / "broken.csv.gz"
        write_digits(broken, 6_000 if quick else 60_000, bad_last_row=True)
        over = folder / "many.csv.gz"
        write_digits(over, lim.max_images + 10_000)
        test_bomb = folder / "test.csv.gz"
        test_bomb.write_bytes(bomb.read_bytes())
        line = folder / "line.csv.gz"
        write_line(line, 40 if quick else 200)
        print(f"(files written in {time.perf_counter() - t0:.0f} s)\n")
        cases = [
            ("500 MB CSV of zeros, gzipped (issue 27)", bomb, "train"),
            ("the same as Kaggle test.csv (Evaluate)", test_bomb, "test"),
            ("200 MB in one line, gzipped", line, "train"),
            (f"{lim.max_images + 10_000:,} valid images, gzipped", over, "train"),
            ("60,000 valid images, gzipped (accepted)", valid, "train"),
            ("the same and a bad cell in a last row", broken, "train"),
        ]
        print(
            f"| {'file':<42} | {'size MB':>7} | {'RSS before MB':>13} | {'peak RSS MB':>11} "
            f"| {'peak - before':>13} | {'seconds':>7} | outcome"
        )
        print(f"|{'-' * 44}|{'-' * 9}|{'-' * 15}|{'-' * 13}|{'-' * 15}|{'-' * 9}|---------")
        for label, path, part in cases:
            r = measure(path, part)
            outcome = r["outcome"]
            outcome = outcome if len(outcome) < 90 else outcome[:87] + "..."
            print(
                f"| {label:<42} | {path.stat().st_size / 1e6:7.1f} | {r['before']:13.0f} | "
                f"{r['peak']:11.0f} | {r['peak'] - r['before']:13.0f} | {r['seconds']:7.2f} "
                f"| {outcome}"
            )
    print(
        "\nRSS before = the process after importing numpy and reading the file's bytes (what the "
        "upload widget already holds). Timings are disturbed by anything else on the machine."
    )


if __name__ == "__main__":
    main()
