"""The settings beyond plain gradient descent (nnmath.TrainConfig's optimizer, weight decay,
schedule, dropout, augmentation) in run ids, URLs and labels."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace

import pytest

import nnmath
from engine.config import ADVANCED, NOTEBOOK, RunConfig, Settings, run_label


def old_run_id(config: RunConfig) -> str:
    """The run id as engine.config built it before the advanced settings existed: every field of
    the config (model left out when None) plus the numerics version."""
    d = {k: v for k, v in asdict(config).items() if k not in ADVANCED}
    if d["model"] is None:
        del d["model"]
    key = json.dumps(
        {**d, "numerics": nnmath.NUMERICS_VERSION}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@pytest.mark.parametrize(
    "changes", [{}, {"hidden": 32}, {"alpha": 0.5, "batch_size": 64, "activation": "tanh"}]
)
def test_runs_at_default_advanced_settings_keep_their_ids(changes):
    config = replace(RunConfig(data="0123456789abcdef", dev_size=1000), **changes)
    assert config.run_id == old_run_id(config)
    assert not set(ADVANCED) & set(config.to_dict())


def test_advanced_settings_enter_the_id_only_where_they_change_the_numbers():
    base = RunConfig(data="0123456789abcdef", dev_size=1000)
    adam = replace(base, optimizer="adam", alpha=0.001)
    assert adam.run_id != replace(base, alpha=0.001).run_id
    assert adam.to_dict()["optimizer"] == "adam" and "beta1" not in adam.to_dict()
    assert replace(adam, beta1=0.8).run_id != adam.run_id
    # settings another choice ignores: the same numbers, the same id
    assert replace(adam, momentum=0.5).run_id == adam.run_id
    assert replace(base, gamma=0.1).run_id == base.run_id  # no step schedule
    assert replace(base, schedule="step", gamma=0.1).run_id != replace(base, schedule="step").run_id
    assert replace(base, augment_level=10.0).run_id == base.run_id
    # and the record's config reads back as the same run
    again = RunConfig.from_dict(json.loads(json.dumps(adam.to_dict())))
    assert again.run_id == adam.run_id


def test_advanced_settings_go_through_the_url_and_the_label():
    s = replace(
        NOTEBOOK, optimizer="nesterov", momentum=0.8, weight_decay=0.001, schedule="cosine",
        horizon=300, dropout=0.2, augment="rotate", augment_level=15.0,
    )  # fmt: skip
    q = s.to_query()
    assert q["optimizer"] == "nesterov" and q["horizon"] == "300" and q["augment"] == "rotate"
    assert "beta1" not in q  # still at its default
    back, problems = Settings.from_query(q)
    assert back == s and problems == []
    label = run_label(s)
    assert "nesterov" in label and "dropout 0.2" in label and "rotate 15" in label


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"optimizer": "adagrad"}, "optimizer must be one of"),
        ({"momentum": 1.0}, "momentum must be in [0, 1)"),
        ({"dropout": 1.0}, "dropout must be in [0, 1)"),
        ({"augment": "rotate", "augment_level": 500.0}, "augment_level must be in [0, 180]"),
        ({"weight_decay": -0.1}, "weight_decay must be in [0, 1]"),
    ],
)
def test_bad_advanced_settings_say_what_is_wrong(changes, message):
    problems = replace(NOTEBOOK, **changes).problems()
    assert any(message in p for p in problems), problems


def test_sweep_axes_and_the_ledger_pick_the_advanced_settings_up():
    from engine.store import RunRecord
    from engine.sweep import SWEEPABLE, expand_grid, parse_values
    from views.compare import runs_frame

    assert {"optimizer", "weight_decay", "dropout", "augment"} <= set(SWEEPABLE)
    assert parse_values("gd, adam", "optimizer") == ("gd", "adam")
    assert parse_values("0 1e-4", "weight_decay") == (0.0, 1e-4)
    base = RunConfig(data="0123456789abcdef", dev_size=1000)
    grid = expand_grid(base, {"optimizer": ("gd", "adam"), "dropout": (0.0, 0.2)})
    assert len({c.run_id for c in grid}) == 4
    assert grid[0].run_id == base.run_id  # gd without dropout: the plain run itself
    records = [
        RunRecord(c.run_id, c, 10, "finished", None, "", 0.5, 0.8, 0.8, 1.0, 0.0, 0.0, 1)
        for c in grid
    ]
    frame = runs_frame(records)
    assert sorted(zip(frame["optimizer"], frame["dropout"])) == [
        ("adam", 0.0), ("adam", 0.2), ("gd", 0.0), ("gd", 0.2)
    ]  # fmt: skip


def test_a_level_left_from_an_earlier_augmentation_does_not_block_training():
    s = replace(NOTEBOOK, augment="none", augment_level=30.0)
    assert s.problems() == []
    assert (
        s.run_config("0123456789abcdef", 1000).run_id
        == NOTEBOOK.run_config("0123456789abcdef", 1000).run_id
    )


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "adam"])
def test_a_sweep_workers_result_with_optimizer_state_fits_its_bound(optimizer):
    from engine.sweep import decode_result, encode_result, result_bytes_bound
    from tests.helpers import tiny_dataset

    ds = tiny_dataset(50)
    config = RunConfig(
        data="0123456789abcdef", dev_size=0, hidden=64, dtype="float64", optimizer=optimizer
    )
    result = nnmath.gradient_descent(ds.X, ds.labels, config.train_config(), iterations=120)
    payload = encode_result(result)
    assert len(payload) <= result_bytes_bound(config, 120)
    assert set(decode_result(payload, config, 120).state) == set(result.state)
