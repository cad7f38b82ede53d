"""What a run is, and what a user chose: both built on nnmath.TrainConfig.

nnmath.TrainConfig declares the training settings once (hidden, alpha, seed, init, dtype,
batch_size, snapshot_every, activation). Here:

- :class:`RunConfig` = those settings + the dataset identity (fingerprint, dev size, split seed):
  everything that decides a run's numbers except its length. Its :attr:`~RunConfig.run_id` keys
  the run store, sweeps, the ledger and exports.
- :class:`Settings` = those settings + the ``data`` key and the iteration count: what a page shows,
  kept in the session and in the URL (:meth:`Settings.to_query` / :meth:`Settings.from_query`).

Field lists (URL parameters, sweep axes, ledger columns, comparison rows) come from
``dataclasses.fields(TrainConfig)`` through :data:`SETTINGS`; nothing retypes them.
No Streamlit here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any
from urllib.parse import urlencode

import numpy as np

import nnmath
from nnmath import (
    ACTIVATIONS,
    DTYPES,
    INITS,
    SETTING_BOUNDS,
    Bounds,
    TrainConfig,
    check_setting,
    setting_kind,
)

TRAIN_FIELDS = tuple(f.name for f in fields(TrainConfig))
#: The training settings a user picks (URL, sweep axes, ledger, comparisons): every TrainConfig
#: field but ``snapshot_every``, which the run store fixes (it decides what is kept, not numbers).
SETTINGS = tuple(name for name in TRAIN_FIELDS if name != "snapshot_every")
#: The settings beyond the notebook's plain gradient descent (optimizer, weight decay, schedule,
#: dropout, augmentation): in a run's id only when they are not at their defaults, so every run
#: stored before they existed keeps its id.
ADVANCED = tuple(name for name in TRAIN_FIELDS if name not in nnmath.CORE_FIELDS)
#: The store keeps parameters every this many iterations (any snapshot length is served exactly).
SNAPSHOT_EVERY = TrainConfig.snapshot_every
#: Fields that must match for two runs to share a dev set.
SPLIT_FIELDS = ("data", "dev_size", "split_seed")

# What the app offers (the Train page's choices and the URL's bounds).
ALPHAS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
BATCH_SIZES = (None, 32, 64, 128, 256, 512, 1000)
CHOICES = {"init": INITS, "dtype": DTYPES, "activation": tuple(ACTIVATIONS)}
WEIGHT_DECAYS = (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1)
DROPOUTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
EPSILONS = (1e-10, 1e-8, 1e-6, 1e-4)
OPTIMIZER_NAMES = {
    "gd": "gradient descent (notebook)",
    "momentum": "momentum",
    "nesterov": "Nesterov momentum",
    "adam": "Adam",
}
MAX_HIDDEN = 512
MAX_ITERATIONS = 20_000


def setting_type(name: str) -> type:
    """int, float or str: the type of training setting ``name`` (from its annotation)."""
    return setting_kind(name)[0]


def optional(name: str) -> bool:
    """Whether training setting ``name`` may be None (batch_size: None = full batch)."""
    return setting_kind(name)[1]


def bounds(max_hidden: int = MAX_HIDDEN, max_iterations: int = MAX_ITERATIONS) -> dict[str, Bounds]:
    """What every setting of :class:`Settings` may be on this server: nnmath's
    :data:`~nnmath.SETTING_BOUNDS` for each training setting, hidden capped at ``max_hidden``,
    and the iteration count in 1..``max_iterations`` (a hosted server's limits, engine.limits)."""
    out = dict(SETTING_BOUNDS)
    out["hidden"] = replace(out["hidden"], high=min(out["hidden"].high, max_hidden))
    out["iterations"] = Bounds(1, max_iterations)
    return out


def check(name: str, value: Any, within: Mapping[str, Bounds] | None = None) -> Any:
    """``value`` of setting ``name`` (a training setting or ``iterations``) checked against
    ``within`` (default :func:`bounds`); ValueError stating the rule and the value."""
    rule = (within or bounds())[name]
    if name == "iterations":
        return rule.check(name, value, int)
    return check_setting(name, value, rule)


def _canonical(value: Any, name: str) -> Any:
    """Plain Python values, so equal settings give equal ids whatever the caller passed."""
    if value is None:
        return None
    kind = setting_type(name)
    if kind is int and isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if kind is int and isinstance(value, (float, np.floating)):
        return int(value) if float(value).is_integer() else value
    if kind is float and isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if name == "dtype":
        try:
            return check_setting("dtype", value)
        except ValueError:  # kept as given: validation says what is wrong with it
            return value
    return value


@dataclass(frozen=True, kw_only=True)
class RunConfig(TrainConfig):
    """A run's identity: the training settings, plus the dataset fingerprint (16 hex chars) and
    the dev split they were evaluated on. The iteration count is not part of it: the store keeps
    the longest run of each identity and serves shorter ones from it."""

    data: str
    dev_size: int = 1000
    split_seed: int = 0
    #: An uploaded model's key (upload-<digest>, engine.models) for a run that was not trained
    #: here: its id then differs from every trained run's. None (a trained run) is left out of
    #: :meth:`to_dict`, so trained runs keep their ids and stored records.
    model: str | None = None

    def __post_init__(self) -> None:
        _canonicalize(self)
        object.__setattr__(self, "dev_size", int(self.dev_size))
        object.__setattr__(self, "split_seed", int(self.split_seed))

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-ready values; the advanced settings only where they change the
        numbers (TrainConfig.canonical) and differ from their defaults."""
        d = asdict(self)
        if d["model"] is None:
            del d["model"]
        canonical, default = self.train_config().canonical(), TrainConfig()
        for name in ADVANCED:
            value = getattr(canonical, name)
            if value == getattr(default, name):
                del d[name]
            else:
                d[name] = value
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @property
    def run_id(self) -> str:
        """Settings plus nnmath's numerics version: runs stored by code that rounded differently
        get other ids, so they are neither served nor continued (and age out of the cache)."""
        key = {**self.to_dict(), "numerics": nnmath.NUMERICS_VERSION}
        canonical = json.dumps(key, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def settings(self, data_key: str, iterations: int) -> Settings:
        """The page settings that show this run at ``iterations`` (``data_key``: the dataset's URL
        value; the config only knows its fingerprint)."""
        return Settings(**_training(self), data=data_key, iterations=int(iterations))


@dataclass(frozen=True, kw_only=True)
class Settings(TrainConfig):
    """What the user chose: the dataset (``data``: "sample", a file under data/downloads,
    "upload-<fingerprint>"), the training settings and how far to train."""

    data: str = "sample"
    iterations: int = 500
    #: An uploaded model to show instead of training (``upload-<digest>``, engine.models); None:
    #: the run these settings train. In the URL only when set.
    model: str | None = None

    def __post_init__(self) -> None:
        _canonicalize(self)

    def run_config(self, fingerprint: str, dev_size: int, split_seed: int = 0) -> RunConfig:
        """The run these settings name, on the dataset with ``fingerprint`` split this way."""
        return RunConfig(
            **_training(self), data=fingerprint, dev_size=dev_size, split_seed=split_seed
        )

    # ---- URL --------------------------------------------------------------------------------
    def to_query(self) -> dict[str, str]:
        """The query parameters of these settings: data, hidden, alpha, iterations and seed
        always; the other training settings only when they are not the notebook's."""
        default = Settings()
        q = {"data": self.data}
        for name in (*SETTINGS[:2], "iterations", *SETTINGS[2:]):
            value = getattr(self, name)
            if name in ALWAYS_IN_URL or value != getattr(default, name):
                q[URL_NAMES.get(name, name)] = _format(name, value)
        if self.model is not None:
            q["model"] = self.model
        return q

    @classmethod
    def from_query(
        cls,
        params: Mapping[str, Any],
        base: Settings | None = None,
        *,
        max_hidden: int = MAX_HIDDEN,
        max_iterations: int = MAX_ITERATIONS,
    ) -> tuple[Settings, list[str]]:
        """Settings from query parameters over ``base`` (default: the notebook's settings).
        Returns the settings and a message for every value that is not used: one that is not a
        number, or outside :func:`bounds` (``max_hidden``/``max_iterations``: the server's
        limits). Those keep the base value, so the settings returned can always be trained."""
        within = bounds(max_hidden, max_iterations)
        s = (base or cls()).clamped(within)
        problems: list[str] = []
        changes: dict[str, Any] = {}
        for name in ("data", "iterations", *SETTINGS, "model"):
            key = URL_NAMES.get(name, name)
            raw = _last(params.get(key))
            if raw is None or raw == "":
                continue
            if name in ("data", "model"):  # checked where they are opened (engine.datasets/models)
                changes[name] = raw
                continue
            try:
                changes[name] = check(name, _parse(name, raw, within[name]), within)
            except ValueError:
                problems.append(
                    f"URL parameter {key}={Bounds.shown(raw)} is not used: {key} must be "
                    f"{_rule(name, within[name])}; kept {_format(name, getattr(s, name))}"
                )
        new = replace(s, **changes)
        try:  # the rules that span settings (an augmentation's own largest level)
            new.train_config().validated()
        except ValueError as e:
            together = [name for name in changes if name in SETTINGS]
            problems.append(
                f"URL parameters {', '.join(URL_NAMES.get(n, n) for n in together)} are not "
                f"used: {e}; kept the previous values"
            )
            new = replace(s, **{k: v for k, v in changes.items() if k not in together})
        return new, problems

    def clamped(self, within: Mapping[str, Bounds]) -> Settings:
        """These settings with every number moved into its bounds (the notebook's 500
        iterations on a server that allows 100: 100). Other values are left as they are."""
        changes = {}
        for name, rule in within.items():
            value = getattr(self, name)
            if rule.choices or value is None or not isinstance(value, (int, float)):
                continue
            if value > rule.high or value < rule.low:
                changes[name] = type(value)(min(max(value, rule.low), rule.high))
        return replace(self, **changes) if changes else self

    # ---- validation -------------------------------------------------------------------------
    def problems(
        self, max_hidden: int = MAX_HIDDEN, max_iterations: int = MAX_ITERATIONS
    ) -> list[str]:
        """What is wrong with these settings, in words (empty when they can be trained): every
        setting checked against :func:`bounds` (``max_hidden``/``max_iterations``: a hosted
        server's limits, engine.limits)."""
        within = bounds(max_hidden, max_iterations)
        out = []
        for name in within:
            try:
                check(name, getattr(self, name), within)
            except ValueError as e:
                out.append(str(e))
        if not out:  # the rules that span settings (an augmentation's own largest level)
            try:
                self.train_config().validated()
            except ValueError as e:
                out.append(str(e))
        return out

    def is_notebook(self) -> bool:
        return replace(self, data="sample") == NOTEBOOK

    def notebook(self) -> Settings:
        """The notebook's settings on the same dataset."""
        return replace(NOTEBOOK, data=self.data)


#: Query parameter names that differ from the field name (kept for existing links).
URL_NAMES = {"batch_size": "batch"}
#: Always written, so every link spells out the notebook's knobs.
ALWAYS_IN_URL = ("hidden", "alpha", "iterations", "seed")
#: Every query parameter a Settings reads and writes (the page is the URL path, not a parameter).
SETTING_PARAMS = (
    "data",
    *(URL_NAMES.get(n, n) for n in (*SETTINGS[:2], "iterations", *SETTINGS[2:])),
    "model",
)


def run_label(config: TrainConfig, iterations: int | None = None) -> str:
    """How every screen names a run: "hidden 10 · alpha 0.1 · seed 0", then the settings that
    are not the notebook's ("he init", "float64", "batch 128", …) and the length when given."""
    parts = [f"hidden {config.hidden}", f"alpha {config.alpha:g}", f"seed {config.seed}"]
    default = TrainConfig()
    for name, text in (
        ("init", f"{config.init} init"),
        ("dtype", str(config.dtype)),
        ("batch_size", f"batch {config.batch_size}"),
        ("activation", str(config.activation)),
        ("optimizer", str(config.optimizer)),
        ("weight_decay", f"L2 {config.weight_decay:g}"),
        ("schedule", f"{config.schedule} schedule"),
        ("dropout", f"dropout {config.dropout:g}"),
        ("augment", f"{config.augment} {config.augment_level:g}"),
    ):
        if getattr(config, name) != getattr(default, name):
            parts.append(text)
    if iterations is not None:
        parts.append(f"{int(iterations):,} iterations")
    return " · ".join(parts)


def loss_help(config: TrainConfig) -> str:
    """What the loss shown is: the cross-entropy, never the weight-decay penalty; in the curves,
    of the images as trained on (dropout, augmentation)."""
    text = "Mean cross-entropy of the final parameters on the whole training set"
    if config.weight_decay:
        text += f", without the L2 penalty (weight decay {config.weight_decay:g})"
    if config.dropout or config.augment != "none":
        text += (
            "; the curve's loss is of each iteration's training pass, with its dropout masks "
            "and augmented images"
        )
    return text + "."


def _canonicalize(config: TrainConfig) -> None:
    """Plain Python values in a frozen config, so equal settings compare and hash equal."""
    for name in TRAIN_FIELDS:
        object.__setattr__(config, name, _canonical(getattr(config, name), name))


def _training(config: TrainConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in TRAIN_FIELDS}


def _last(value: Any) -> str | None:
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
    return None if value is None else str(value).strip()


def _rule(name: str, rule: Bounds) -> str:
    """The rule of setting ``name`` as its URL parameter reads (batch: "full" for None)."""
    kind, can_be_none = (int, False) if name == "iterations" else setting_kind(name)
    return rule.rule(kind) + (" (or full for full batch)" if can_be_none else "")


def _parse(name: str, raw: str, rule: Bounds) -> Any:
    """A URL value as the setting's type (None, "full" or 0 for batch: full batch); ValueError
    when it is not one. Over 100 characters is no number any setting takes (and Python's int()
    would spend time on thousands of digits)."""
    kind, can_be_none = (int, False) if name == "iterations" else setting_kind(name)
    if can_be_none and raw.lower() in ("none", "full", "0"):
        return None
    if kind is str:
        return raw
    if len(raw) > 100:
        raise ValueError(f"{name} must be {_rule(name, rule)}, got {Bounds.shown(raw)}")
    try:
        if kind is float:
            return float(raw)
        try:
            return int(raw)
        except ValueError:  # "1e3", "10.0": whole numbers written as floats
            value = float(raw)
            if not value.is_integer():
                raise
            return int(value)
    except (ValueError, OverflowError):
        raise ValueError(f"{name} must be {_rule(name, rule)}, got {Bounds.shown(raw)}") from None


def _format(name: str, value: Any) -> str:
    return format_alpha(value) if name == "alpha" else str(value)


def format_alpha(alpha: float) -> str:
    """Shortest text that reads back as the same float (0.1 -> '0.1', 1e-05 -> '1e-05')."""
    return repr(float(alpha)) if not float(alpha).is_integer() else f"{alpha:g}"


def parse_filter(params: Mapping[str, Any], name: str) -> int | None:
    """A digit 0..9 from the query parameter ``name`` (Mistakes' true/pred), or None."""
    raw = _last(params.get(name))
    if raw is None:
        return None
    try:
        d = int(raw)
    except ValueError:
        return None
    return d if 0 <= d < nnmath.CLASSES else None


def parse_min_conf(params: Mapping[str, Any], name: str = "min_conf") -> float:
    """A confidence in [0, 1], rounded to 0.01, from the query parameter ``name`` (Mistakes'
    ``min_conf``: only mistakes at least this confident); 0.0 (no filter) when absent or not a
    number in [0, 1]."""
    try:
        x = float(_last(params.get(name)))
    except (TypeError, ValueError):
        return 0.0
    return round(x, 2) if 0 <= x <= 1 else 0.0


def format_min_conf(value: float) -> str | None:
    """``min_conf`` for the URL: None (left out) for 0, no filter; else two decimals."""
    return None if not value else f"{value:.2f}"


def query_string(settings: Settings, **extra: Any) -> str:
    """``?data=...&hidden=...`` for a permalink (extra parameters appended, None skipped)."""
    q = settings.to_query()
    q.update({k: str(v) for k, v in extra.items() if v is not None})
    return "?" + urlencode(q)


#: The notebook's settings on the embedded sample.
NOTEBOOK = Settings()
