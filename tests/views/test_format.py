"""views.format: numbers as written, and arithmetic that holds for the digits written."""

from decimal import Decimal

from views import format as fmt


def test_as_shown_reads_back_what_is_written():
    assert fmt.as_shown(0.8344, ".1%") == Decimal("83.4")
    assert fmt.as_shown(1234.5678, ",.2f") == Decimal("1234.57")
    assert fmt.as_shown(-0.00004, ".4f") == 0


def test_differences_are_those_of_the_written_numbers():
    # 83.44% and 85.06% are written 83.4% and 85.1%: 1.7 points apart as written (not 1.6)
    assert fmt.shown_difference(0.8506, 0.8344, ".1%") == Decimal("1.7")
    assert fmt.points(0.8344, 0.8506) == "+1.7 pts"
    assert fmt.points(0.8506, 0.8344) == "-1.7 pts"
    assert fmt.points(float("nan"), 0.5) == ""


def test_decimals_adding_up_is_the_fewest_that_make_every_sum_hold():
    # 2.6978 − 0.3445 − 0.3947 = 1.9586: at 3 decimals 2.698 − 0.345 − 0.395 = 1.958 ≠ 1.959
    parts, total = (2.69776, -0.34452, -0.39468), 1.95856
    assert fmt.decimals_adding_up([(parts, total)]) == 4
    assert fmt.decimals_adding_up([((0.5, 0.25), 0.75)]) == 3
    # 0.444444449 twice: written 0.444 + 0.444 under 0.889, and so on up to 5 decimals
    assert fmt.decimals_adding_up([((0.444444449,) * 2, 0.888888898)], most=5) is None


def test_decimals_apart_writes_the_larger_above_the_smaller():
    assert fmt.decimals_apart(0.4815, 0.4811) == 2  # 48.15% vs 48.11%; 48% and 48.1% tie
    assert fmt.decimals_apart(0.6, 0.3) == 0


def test_listed_joins_words_as_a_reader_lists_them():
    assert fmt.listed(["GD"]) == "GD"
    assert fmt.listed(["GD", "Adam"]) == "GD and Adam"
    assert fmt.listed(iter(["GD", "Momentum", "Adam"])) == "GD, Momentum and Adam"
