"""engine.limits: environment over secrets over defaults, and clear messages for bad values."""

from __future__ import annotations

from engine.limits import ENV, Limits


def test_defaults_fit_a_small_instance():
    lim, problems = Limits.read(env={}, secrets={})
    assert problems == []
    assert lim == Limits(
        max_hidden=256,
        max_iterations=5000,
        max_upload_mb=100,
        max_trainings=2,
        max_train_seconds=600,
        runs_per_minute=10,
        max_unpacked_mb=160,
        max_images=70_000,
        max_sweep_runs=100,
    )
    assert lim.max_upload_bytes == 100 * 1024 * 1024
    assert lim.max_unpacked_bytes == 160 * 1024 * 1024


def test_every_limit_comes_from_the_environment_or_the_secrets():
    values = {"max_hidden": 32, "max_iterations": 900, "max_upload_mb": 2.5, "max_trainings": 3,
              "max_train_seconds": 90.5, "runs_per_minute": 4, "max_unpacked_mb": 8.5, "max_images": 500,
              "max_sweep_runs": 12}  # fmt: skip
    from_env, _ = Limits.read(env={ENV[k]: str(v) for k, v in values.items()}, secrets={})
    from_secrets, _ = Limits.read(env={}, secrets={ENV[k]: v for k, v in values.items()})
    assert from_env == from_secrets == Limits(**values)


def test_the_environment_wins_over_the_secrets():
    lim, _ = Limits.read(
        env={"NNMATH_MAX_HIDDEN": "64"},
        secrets={"NNMATH_MAX_HIDDEN": 16, "NNMATH_MAX_TRAININGS": 1},
    )
    assert (lim.max_hidden, lim.max_trainings) == (64, 1)


def test_a_value_that_cannot_be_used_keeps_the_default_and_says_so():
    lim, problems = Limits.read(
        env={"NNMATH_MAX_HIDDEN": "lots", "NNMATH_MAX_TRAININGS": "0"},
        secrets={"NNMATH_MAX_UPLOAD_MB": "nan"},
    )
    assert lim == Limits()
    assert problems == [
        "environment variable NNMATH_MAX_HIDDEN must be a whole number >= 1, got 'lots'; "
        "using the default 256",
        "secret NNMATH_MAX_UPLOAD_MB must be a number >= 1, got 'nan'; using the default 100",
        "environment variable NNMATH_MAX_TRAININGS must be a whole number >= 1, got '0'; "
        "using the default 2",
    ]
