"""What one visitor may ask of a hosted app: read once from the environment and ``st.secrets``.

=========================  =========  ===============================================================
setting                    default    meaning
=========================  =========  ===============================================================
NNMATH_MAX_HIDDEN          256        largest hidden layer a run may have
NNMATH_MAX_ITERATIONS      5000       largest iteration count a run may ask for
NNMATH_MAX_UPLOAD_MB       100        largest upload on the Data page (never above Streamlit's own
                                      ``server.maxUploadSize``, 200 in .streamlit/config.toml)
NNMATH_MAX_UNPACKED_MB     160        largest data file once unpacked (.gz, .zip, .npz members):
                                      counted while decompressing, refused past it
NNMATH_MAX_IMAGES          70000      most images one dataset may have (uploads, Kaggle files,
                                      the test.csv of a submission)
NNMATH_MAX_SWEEP_RUNS      100        most combinations one sweep may have (counted from the text)
NNMATH_MAX_TRAININGS       2          trainings computing at once on the server; more wait in a queue
NNMATH_MAX_TRAIN_SECONDS   600        seconds one training may compute before it stops (kept, as a
                                      Stop keeps it; training it further queues again)
NNMATH_RUNS_PER_MINUTE     10         trainings one browser session may start per minute
=========================  =========  ===============================================================

Each value is read from the environment variable of that name, else from a top-level key of the
same name in ``.streamlit/secrets.toml`` (Community Cloud's *Secrets* box), else the default.

The defaults fit one 1 GB instance shared by a class: a run keeps a snapshot of its parameters
every 50 iterations, so a 256-unit run of 5,000 iterations holds 101 snapshots of 0.8 MB (82 MB,
on disk and in the result cache; momentum keeps its velocity beside each snapshot and Adam its m
and v, so 2x and 3x that, and training with augmentation costs several times the CPU per
iteration: lower NNMATH_MAX_ITERATIONS on a small instance whose visitors use them); ten
minutes of training finish any plain run of the embedded sample within these limits (the
largest, 256 units x 5,000 iterations, takes ~205 s of one core on a 2-core AMD EPYC), while a
70,000-image upload or augmentation at those sizes would hold a core for an hour or more: the
limit stops such a run at ten minutes, keeps it, and lets the queue move on; two
trainings at once keep the two cores of a small instance
busy without each slowing the other down (nnmath already uses up to two worker threads per
training); Kaggle's digit-recognizer train.csv (73 MB) fits under the upload limit; the
full MNIST CSV (60,000 images, ~110 MB unpacked) fits under the unpacked and image limits, and
a 70,000-image dataset is 55 MB of pixels.

No Streamlit here: the glue passes ``st.secrets`` in as a plain mapping.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

ENV = {
    "max_hidden": "NNMATH_MAX_HIDDEN",
    "max_iterations": "NNMATH_MAX_ITERATIONS",
    "max_upload_mb": "NNMATH_MAX_UPLOAD_MB",
    "max_trainings": "NNMATH_MAX_TRAININGS",
    "max_train_seconds": "NNMATH_MAX_TRAIN_SECONDS",
    "runs_per_minute": "NNMATH_RUNS_PER_MINUTE",
    "max_unpacked_mb": "NNMATH_MAX_UNPACKED_MB",
    "max_images": "NNMATH_MAX_IMAGES",
    "max_sweep_runs": "NNMATH_MAX_SWEEP_RUNS",
}


@dataclass(frozen=True)
class Limits:
    max_hidden: int = 256
    max_iterations: int = 5000
    max_upload_mb: float = 100.0
    max_trainings: int = 2
    max_train_seconds: float = 600.0
    runs_per_minute: int = 10
    max_unpacked_mb: float = 160.0
    max_images: int = 70_000
    max_sweep_runs: int = 100

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_unpacked_bytes(self) -> int:
        return int(self.max_unpacked_mb * 1024 * 1024)

    @classmethod
    def read(
        cls, env: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None
    ) -> tuple[Limits, list[str]]:
        """The limits from ``env`` (default os.environ) over ``secrets`` over the defaults, and
        a message for every value that cannot be used (that one keeps its default)."""
        env = os.environ if env is None else env
        secrets = secrets or {}
        changes: dict[str, Any] = {}
        problems: list[str] = []
        for f in fields(cls):
            name = ENV[f.name]
            raw, where = env.get(name), "environment variable"
            if raw is None or str(raw).strip() == "":
                raw, where = secrets.get(name), "secret"
            if raw is None or str(raw).strip() == "":
                continue
            conv = float if f.type == "float" else int
            try:
                value = conv(str(raw).strip())
                ok = value >= 1 and math.isfinite(value)
            except ValueError:
                ok = False
            if not ok:
                problems.append(
                    f"{where} {name} must be a {'number' if conv is float else 'whole number'} "
                    f">= 1, got {raw!r}; using the default {getattr(cls(), f.name):g}"
                )
                continue
            changes[f.name] = value
        return replace(cls(), **changes), problems
