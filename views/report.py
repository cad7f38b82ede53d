"""A run report: ONE self-contained HTML file that opens offline and can be handed out.

Settings, dataset, final metrics, training curves, confusion matrix, per-digit scores, the most
confident mistakes and the hidden units' weights. The charts are the app's own figure builders
(views.figures); plotly's JavaScript is inlined once (plotly's offline bundle), and the
mistakes are PNG images embedded as data URIs, so the file needs no network and no other file.
No Streamlit here.
"""

from __future__ import annotations

import base64
import html
import math
import struct
import zlib
from datetime import UTC, datetime

import numpy as np
import plotly.graph_objects as go

import nnmath
from engine.config import format_alpha
from views import figures, metrics

MISTAKES_SHOWN = 24
UNITS_SHOWN = 100  # hidden units drawn (a 512-unit network would make a 50-row mosaic)
PNG_SCALE = 3  # each pixel of a 28x28 digit becomes 3x3: 84x84 images


def png_bytes(gray: np.ndarray, scale: int = PNG_SCALE) -> bytes:
    """A grayscale PNG of ``gray`` (uint8, 0 = black), each pixel ``scale`` x ``scale``; zlib
    and struct only."""
    img = np.repeat(np.repeat(np.asarray(gray, np.uint8), scale, axis=0), scale, axis=1)
    height, width = img.shape
    raw = b"".join(b"\x00" + row.tobytes() for row in img)  # filter type 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def digit_data_uri(image: np.ndarray) -> str:
    """A digit (28, 28), 255 = ink, as an embedded PNG drawn like the app: black ink on white."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(255 - image)).decode("ascii")


def _pct(x: float) -> str:
    return "—" if not math.isfinite(x) else f"{x:.1%}"


def _num(x: float, fmt: str = ".4f") -> str:
    return "—" if not math.isfinite(x) else format(x, fmt)


def _rows(pairs) -> str:
    return "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in pairs
    )


class _Charts:
    """Figures to HTML divs; the first one carries plotly.js, the others reuse it."""

    def __init__(self):
        self.count = 0

    def __call__(self, fig: go.Figure, div_id: str) -> str:
        self.count += 1
        return fig.to_html(
            full_html=False,
            include_plotlyjs=self.count == 1,  # True: the whole offline bundle, inline
            div_id=div_id,
            config={"displayModeBar": False, "responsive": True},
        )


def settings_rows(run, ev) -> list[tuple[str, str]]:
    c, r = run.config, run.result
    return [
        ("hidden units", c.hidden),
        ("learning rate alpha", format_alpha(c.alpha)),
        ("iterations", f"{r.iterations:,}"),
        ("seed", c.seed),
        ("initialisation", c.init),
        ("float type", c.dtype),
        ("batch size", "full batch" if c.batch_size is None else c.batch_size),
        ("activation", r.config.activation),
        ("status", r.status + (f" ({r.message})" if r.message else "")),
        ("run id", run.run_id),
    ] + _note_rows(getattr(run, "note", None))


def _note_rows(note) -> list[tuple[str, str]]:
    """The run's note and tags (engine.notes.Annotation), when someone wrote any."""
    rows = []
    if note is not None and note.note:
        rows.append(("note", note.note))
    if note is not None and note.tags:
        rows.append(("tags", ", ".join(note.tags)))
    return rows


def dataset_rows(run) -> list[tuple[str, str]]:
    return [
        ("name", run.dataset.name),
        ("fingerprint", run.dataset.fingerprint),
        ("images", f"{run.dataset.n:,}"),
        ("trained on", f"{run.result.n_train:,} images"),
        ("evaluated on (dev)", f"{run.dev.n:,} held-out images"),
    ]


def metric_rows(run, ev) -> list[tuple[str, str]]:
    r = run.result
    right = int(ev.correct.sum())
    return [
        ("dev accuracy", f"{_pct(ev.accuracy)} ({right:,} of {len(ev.y):,} right)"),
        ("dev loss", _num(r.dev_loss)),
        ("train accuracy", _pct(r.train_accuracy)),
        ("train loss", _num(r.loss)),
    ]


def _per_digit_table(table) -> str:
    head = "<tr><th>digit</th><th>precision</th><th>recall</th><th>F1</th><th>images</th></tr>"
    body = "".join(
        f"<tr><td>{int(t.digit)}</td><td>{t.precision:.1%}</td><td>{t.recall:.1%}</td>"
        f"<td>{t.f1:.1%}</td><td>{int(t.support):,}</td></tr>"
        for t in table.itertuples(index=False)
    )
    return f'<table class="digits">{head}{body}</table>'


def _mistakes(run, ev) -> str:
    table = metrics.mistakes(ev, sort="confidence").head(MISTAKES_SHOWN)
    if table.empty:
        return "<p>No mistakes on the dev set.</p>"
    tiles = "".join(
        f'<figure class="digit"><img src="{digit_data_uri(run.dev.images[int(m.index)])}" '
        f'width="84" height="84" alt="dev image {int(m.index)}: a {int(m.true)} read as '
        f'{int(m.pred)}"><figcaption>true <b>{int(m.true)}</b> · said <b>{int(m.pred)}</b>'
        f"<br>{m.confidence:.0%} sure</figcaption></figure>"
        for m in table.itertuples(index=False)
    )
    wrong = int((~ev.correct).sum())
    return (
        f"<p>The {len(table)} mistakes the network was surest about, of {wrong:,} on the dev "
        f"set (confidence = its probability for the digit it said).</p>"
        f'<div class="mistakes">{tiles}</div>'
    )


def initial_W1(result) -> np.ndarray | None:
    """W1 before training when the notebook's uniform start would hide the learned pattern (as the
    Weights page shows it), else None: the weights themselves are drawn."""
    if result.config.init != "uniform" or not len(result.snapshot_iterations):
        return None
    if int(result.snapshot_iterations[0]) != 0:
        return None
    return result.snapshots["W1"][0]


def units_caption(h: int, shown: int, change: bool) -> str:
    which = "" if shown == h else f" (the first {shown} of {h} units)"
    if change:
        return (
            f"Each tile shows how training changed one hidden unit's 784 input weights, as a "
            f"28×28 image{which}: red where a pixel's weight grew, blue where it fell: the "
            f"change since the random start, because the start itself would hide the pattern."
        )
    return (
        f"Each tile is one hidden unit's 784 input weights drawn as a 28×28 image{which}: red "
        f"pixels push the unit on, blue ones off."
    )


CSS = """
body { font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em;
       color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { text-align: left; padding: 0.2em 1em 0.2em 0; }
table.digits td, table.digits th { text-align: right; }
.cols { display: flex; gap: 3em; flex-wrap: wrap; }
.mistakes { display: flex; flex-wrap: wrap; gap: 10px; }
figure.digit { margin: 0; text-align: center; font-size: 0.85em; }
figure.digit img { image-rendering: pixelated; border: 1px solid #ccc; }
footer { margin-top: 3em; color: #777; font-size: 0.85em; }
"""


def report_html(run, ev: metrics.Evaluation | None = None) -> str:
    """The whole report as one HTML page (``run`` a views.export.RunExport)."""
    ev = run.evaluation() if ev is None else ev
    r = run.result
    chart = _Charts()
    cm = metrics.confusion_matrix(ev.y, ev.pred)
    table = metrics.per_class(cm)
    h = r.params.hidden
    start = initial_W1(r)
    shown = min(h, UNITS_SHOWN)
    title = (
        f"nnmath run: {r.params.hidden} hidden units, alpha {format_alpha(run.config.alpha)}, "
        f"{r.iterations:,} iterations"
    )
    curves = (
        chart(
            figures.training_curves(r.history, diverged_at=r.diverged_at),
            "training-curves",
        )
        if len(r.history)
        else "<p>No training history in this run.</p>"
    )
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    esc = html.escape
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title><style>{CSS}</style></head>
<body>
<h1>{esc(title)}</h1>
<p>A two-layer network (784 pixels → {h} hidden units → 10 digits) trained by gradient descent
with nnmath, evaluated on {run.dev.n:,} images it never trained on.</p>
<div class="cols">
<section><h2>Settings</h2><table>{_rows(settings_rows(run, ev))}</table></section>
<section><h2>Dataset</h2><table>{_rows(dataset_rows(run))}</table></section>
<section><h2>Final metrics</h2><table>{_rows(metric_rows(run, ev))}</table></section>
</div>
<h2>Training curves</h2>
<p>Loss (top) and accuracy on the training and dev images (bottom) after each iteration.</p>
{curves}
<h2>Confusion matrix</h2>
<p>Rows: the true digit; columns: what the network said. The diagonal holds the
{int(np.trace(cm)):,} right answers, the other cells the {int(cm.sum() - np.trace(cm)):,}
mistakes ({int(cm.sum()):,} dev images in all).</p>
{chart(figures.confusion_heatmap(cm), "confusion-matrix")}
<h2>Per digit: precision, recall, F1</h2>
<p>Precision: of the images called d, how many are d. Recall: of the d's, how many were found.
F1: their harmonic mean.</p>
{chart(figures.per_class_bars(table), "per-digit")}
{_per_digit_table(table)}
<h2>Most confident mistakes</h2>
{_mistakes(run, ev)}
<h2>Hidden units</h2>
<p>{units_caption(h, shown, start is not None)}</p>
{chart(figures.hidden_units(r.params.W1, count=shown, start=start), "hidden-units")}
<footer>Made {created} with nnmath {nnmath.__version__} (numerics version
{nnmath.NUMERICS_VERSION}). Dataset fingerprint {esc(run.dataset.fingerprint)}.</footer>
</body></html>
"""
