"""Seeds as groups, intervals for a difference, which setting mattered: checked against numpy and
an independent statistics library (SciPy, installed with the test requirements)."""

import math
import re
from decimal import Decimal
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from engine.config import RunConfig
from views import significance as sig


def record(seed=0, hidden=10, alpha=0.1, iterations=500, acc=0.85):
    config = RunConfig(data="abc", hidden=hidden, alpha=alpha, seed=seed)
    return SimpleNamespace(config=config, iterations=iterations, dev_accuracy=acc)


def test_runs_that_differ_only_in_seed_form_one_group():
    rs = [record(seed=2), record(seed=0), record(seed=1), record(hidden=20), record(iterations=600)]
    g = sig.groups(rs)
    assert [len(m) for m in g.values()] == [3, 1, 1]
    assert [r.config.seed for r in next(iter(g.values()))] == [0, 1, 2]


@pytest.mark.parametrize("values", [[0.85, 0.852, 0.861], [0.5, 0.9], [0.7, 0.71, 0.69, 0.8, 0.6]])
def test_group_summary_is_numpys(values):
    s = sig.summary(values)
    assert s.mean == np.mean(values) and s.sd == np.std(values, ddof=1) and s.n == len(values)
    assert s.text() == (
        f"{np.mean(values) * 100:.1f}% ± {np.std(values, ddof=1) * 100:.1f} ({len(values)} seeds)"
    )


def test_one_seed_has_no_spread_and_nan_runs_are_left_out():
    assert sig.summary([0.8]).text() == "80.0% (1 seed)"
    s = sig.summary([0.8, float("nan"), 0.9])
    assert s.n == 2 and s.mean == pytest.approx(0.85)


def test_seed_band_is_mean_plus_minus_sd_per_iteration():
    curves = [np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0, 0.0])]
    mean, low, high = sig.seed_band(curves)
    np.testing.assert_array_equal(mean, [2.0, 2.0, 2.0])
    sd = np.std([[1, 2, 3], [3, 2, 1]], axis=0, ddof=1)
    np.testing.assert_allclose(high - mean, sd)
    np.testing.assert_allclose(mean - low, sd)


@pytest.mark.parametrize(
    "p,df", [(0.975, 2), (0.975, 3.7), (0.95, 10), (0.025, 5.5), (0.5, 1), (0.6, 30), (0.999, 2.2)]
)
def test_t_quantile_matches_scipy(p, df):
    assert sig.t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), abs=1e-9)


def test_welch_interval_matches_scipy():
    a, b = [0.850, 0.846, 0.856], [0.862, 0.870, 0.859, 0.865]
    d = sig.group_difference(a, b)
    ci = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert d.diff == pytest.approx(np.mean(b) - np.mean(a), abs=1e-15)
    assert (d.low, d.high) == (pytest.approx(ci.low, abs=1e-9), pytest.approx(ci.high, abs=1e-9))
    assert d.clear and d.sentence().startswith("B is better than A by 1.3 points (95% interval")


def test_groups_of_one_seed_get_no_interval():
    d = sig.group_difference([0.85], [0.86, 0.87])
    assert math.isnan(d.low) and "at least 2 seeds" in d.sentence()


def test_paired_bootstrap_counts_only_the_images_they_disagree_on():
    rng = np.random.default_rng(1)
    a = rng.random(1000) < 0.85
    b = a.copy()
    flip = rng.choice(1000, 60, replace=False)
    b[flip[:45]] = True  # B fixes some of A's errors
    b[flip[45:]] = False  # and breaks some right answers
    d = sig.paired_difference(a, b)
    fixed, broke = int(np.sum(~a & b)), int(np.sum(a & ~b))
    assert d.diff == pytest.approx((fixed - broke) / 1000) == pytest.approx(b.mean() - a.mean())
    assert f"fixed {fixed}" in d.detail and f"broke {broke}" in d.detail
    # the multinomial shortcut is the paired bootstrap: a direct one over images agrees
    idx = np.random.default_rng(5).integers(0, 1000, size=(4000, 1000))
    direct = b[idx].mean(axis=1) - a[idx].mean(axis=1)
    lo, hi = np.quantile(direct, [0.025, 0.975])
    assert d.low == pytest.approx(lo, abs=0.003) and d.high == pytest.approx(hi, abs=0.003)
    assert sig.paired_difference(a, b) == d  # seeded: the same runs, the same interval


def test_identical_runs_show_no_clear_difference():
    a = np.arange(100) % 3 == 0
    d = sig.paired_difference(a, a)
    assert (d.diff, d.low, d.high) == (0, 0, 0) and not d.clear
    assert d.sentence().startswith("No clear difference")


def test_main_effects_find_the_setting_that_decides_the_metric():
    rows = []
    for alpha, base in ((0.05, 0.80), (0.1, 0.85), (0.5, 0.90)):
        for hidden, bump in ((10, 0.0), (32, 0.002)):
            for seed, noise in ((0, -0.001), (1, 0.001)):
                rows.append(
                    dict(alpha=alpha, hidden=hidden, seed=seed, dev_accuracy=base + bump + noise)
                )
    rows.append(dict(alpha=5.0, hidden=10, seed=0, dev_accuracy=float("nan")))  # diverged
    e = sig.main_effects(rows)
    y = np.array([r["dev_accuracy"] for r in rows[:-1]])
    total = np.sum((y - y.mean()) ** 2)
    for name in ("alpha", "hidden", "seed"):
        levels = sorted({r[name] for r in rows[:-1]})
        between = sum(
            np.sum([r[name] == v for r in rows[:-1]])
            * (np.mean([r["dev_accuracy"] for r in rows[:-1] if r[name] == v]) - y.mean()) ** 2
            for v in levels
        )
        assert e.shares[name] == pytest.approx(between / total)
    assert list(e.shares)[0] == "alpha" and e.n == 12
    assert e.reading.startswith(
        f"alpha mattered most: it explains {e.shares['alpha']:.0%} of the spread of dev accuracy "
        "over these 12 runs (hidden"
    )


def test_main_effects_with_too_few_runs_say_so():
    assert "Not enough" in sig.main_effects([dict(alpha=0.1, dev_accuracy=0.8)]).reading


def test_a_random_searchs_alphas_are_binned_before_their_share_is_taken():
    rng = np.random.default_rng(0)
    alphas = np.exp(rng.uniform(np.log(0.01), np.log(1), 40))
    rows = [
        dict(alpha=float(a), hidden=10, seed=0, dev_accuracy=0.8 + 0.05 * np.log10(a) + e)
        for a, e in zip(alphas, rng.normal(0, 0.01, 40))
    ]
    e = sig.main_effects(rows)
    ranks = np.argsort(np.argsort(alphas))
    bins = ranks * 4 // 40
    y = np.array([r["dev_accuracy"] for r in rows])
    between = sum((bins == b).sum() * (y[bins == b].mean() - y.mean()) ** 2 for b in range(4))
    assert e.shares == {"alpha": pytest.approx(between / np.sum((y - y.mean()) ** 2))}
    assert e.levels == {"alpha": 40} and 0.5 < e.shares["alpha"] < 1


def test_settings_that_moved_together_are_said_to_overlap():
    rows = [
        dict(alpha=a, hidden=h, seed=0, dev_accuracy=acc)
        for a, h, acc in ((0.05, 9, 0.3), (0.16, 12, 0.6), (0.45, 12, 0.7))
    ]
    e = sig.main_effects(rows)
    assert sum(e.shares.values()) > 1
    assert "shares overlap" in e.reading and "the rest" not in e.reading


def test_the_shares_and_the_rest_add_up_to_100_percent_as_written():
    # 33.4% + 33.4% + 33.2% leave 0%: written whole they read 33% + 33% + 33% + 0% = 99%
    shares = {"alpha": 0.334, "hidden": 0.334, "seed": 0.332}
    reading = sig._reading(shares, 12, 1.0, sig.share_decimals(shares))
    written = [Decimal(p) for p in re.findall(r"(\d+(?:\.\d+)?)%", reading)]
    assert len(written) == 4 and sum(written) == 100, reading
    assert "33.4%" in reading and "the rest 0.0%" in reading
    # whole percents where they add up already (73% + 21% + 0% + 6%), as before
    e = sig.Effects({"alpha": 0.7279, "hidden": 0.2106, "seed": 0.0002}, {}, 12, "")
    assert sig.share_decimals(e.shares) == 0


def test_the_sweep_table_writes_the_shares_as_the_reading_does():
    rows = [
        dict(alpha=a, hidden=h, seed=0, dev_accuracy=acc)
        for (a, h), acc in zip(
            ((0.1, 10), (0.1, 32), (0.5, 10), (0.5, 32)), (0.50, 0.7005, 0.6995, 0.90)
        )
    ]
    e = sig.main_effects(rows)
    written = [Decimal(e.percent(v).rstrip("%")) for v in e.shares.values()]
    rest = Decimal(re.search(r"the rest (\d+(?:\.\d+)?)%", e.reading).group(1))
    assert sum(written) + rest == 100, e.reading
    for name, v in e.shares.items():
        assert f"{name} {e.percent(v)}" in e.reading or f"explains {e.percent(v)}" in e.reading


def test_better_by_is_the_difference_of_the_two_accuracies_as_written():
    # 10,000 dev images: A 86.94% reads 86.9%, B 88.06% reads 88.1%; Compare's B − A column
    # says +1.2 pts, so the sentence must too (the unrounded difference is 1.12)
    n = 10_000
    right_a, right_b = np.arange(n) < 8694, np.arange(n) < 8806
    d = sig.paired_difference(right_a, right_b, resamples=2_000)
    assert d.clear and d.points() == Decimal("1.2")
    assert d.sentence().startswith("B is better than A by 1.2 points (95% interval ")
    # over seeds: the means as Summary.text writes them (86.9% and 88.1%)
    a, b = [0.8690, 0.8698], [0.8806, 0.8806]
    g = sig.group_difference(a, b)
    written = [Decimal(sig.summary(v).text().split("%")[0]) for v in (a, b)]
    assert g.points() == written[1] - written[0] == Decimal("1.2")
    assert "by 1.2 points" in g.sentence()
