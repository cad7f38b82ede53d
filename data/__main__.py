"""Command line: ``python -m data download <ref>``, ``python -m data info <path|sample>``,
``python -m data list``, ``python -m data submission MODEL TEST_CSV -o OUT``. On failure: the
message on stderr and exit code 1."""

from __future__ import annotations

import argparse
import sys

from . import kaggle, submission
from .errors import DataError
from .formats import human_bytes
from .loading import DOWNLOAD_DIR, list_local_files, load_dataset


def _describe(ds) -> str:
    lines = [
        f"name:        {ds.name}",
        f"source:      {ds.source}",
        f"images:      {ds.n:,} × 28×28 uint8",
        f"fingerprint: {ds.fingerprint}",
    ]
    if ds.has_labels:
        counts = ", ".join(f"{d}: {c:,}" for d, c in enumerate(ds.class_counts()))
        lines.append(f"labels:      {counts}")
    else:
        lines.append("labels:      none (unlabelled, e.g. Kaggle's test.csv)")
    return "\n".join(lines)


def _progress(done: int, total: int | None) -> None:
    end = "\n" if total is not None else ""
    print(f"\rdownloaded {human_bytes(done)}", end=end, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data", description="Get MNIST digits and check that they load."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser(
        "download",
        help="download a Kaggle competition or dataset",
        description="Download into data/downloads/ (reused afterwards). "
        "Credentials: KAGGLE_API_TOKEN, or KAGGLE_USERNAME + KAGGLE_KEY, or "
        "~/.kaggle/kaggle.json.",
    )
    d.add_argument(
        "ref",
        help="'digit-recognizer', 'oddrationale/mnist-in-csv', "
        "'hojjatk/mnist-dataset' or a kaggle.com URL",
    )
    d.add_argument("--dest", help="folder to download into (default: under data/downloads/)")
    d.add_argument("--force", action="store_true", help="download again even if present")
    d.add_argument(
        "--part",
        choices=("train", "test"),
        default="train",
        help="which part to check after downloading",
    )
    i = sub.add_parser("info", help="load a file, folder or the sample and describe it")
    i.add_argument(
        "source", help="'sample', a path (.csv, IDX, .npz, .zip, folder) or 'kaggle:<ref>'"
    )
    i.add_argument("--part", choices=("train", "test"), default="train")
    sub.add_parser("list", help=f"list loadable files under {DOWNLOAD_DIR}")
    s = sub.add_parser(
        "submission",
        help="write Kaggle's submission.csv from a model file and test.csv",
        description="Predict every image of TEST_CSV with MODEL (an .npz from the app, "
        "nnmath.save_model or the notebook's W1 b1 W2 b2) and write ImageId,Label.",
    )
    s.add_argument("model", help="model .npz")
    s.add_argument("test_csv", help="Kaggle's test.csv (or any file 'info' can read)")
    s.add_argument("-o", "--output", default="submission.csv", help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        if args.command == "download":
            folder = kaggle.download(args.ref, args.dest, progress=_progress, force=args.force)
            print(f"files in {folder}")
            ds = load_dataset(folder, part=args.part)
            print(_describe(ds))
        elif args.command == "info":
            print(_describe(load_dataset(args.source, part=args.part, progress=_progress)))
        elif args.command == "submission":
            text, n = submission.make_submission(args.model, args.test_csv)
            with open(args.output, "w", newline="") as f:
                f.write(text)
            print(f"wrote {n:,} predictions to {args.output}")
        else:
            files = list_local_files()
            print("\n".join(str(f) for f in files) if files else f"no files under {DOWNLOAD_DIR}")
    except (DataError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
