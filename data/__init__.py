"""Where the digits come from: one :class:`Dataset` from any source, or a :class:`DataError`
that says exactly what is wrong with the file.

>>> from data import load_dataset, train_dev_split
>>> ds = load_dataset("sample")             # 5,000 MNIST digits shipped in data/, offline
>>> train, dev = train_dev_split(ds, seed=0)  # shuffled, stratified; 1,000 dev images
>>> from_drawing(pad_rgba).image            # a drawing pad's picture as a (28, 28) MNIST digit
"""

from .dataset import Dataset, default_dev_size, fingerprint, train_dev_split
from .drawing import Drawing, from_drawing
from .errors import DataError
from .loading import (
    DOWNLOAD_DIR,
    MAX_UNPACKED_BYTES,
    MAX_UPLOAD_BYTES,
    list_local_files,
    load_dataset,
    load_sample,
)

__all__ = [
    "Dataset",
    "DataError",
    "Drawing",
    "from_drawing",
    "load_dataset",
    "load_sample",
    "train_dev_split",
    "default_dev_size",
    "fingerprint",
    "list_local_files",
    "DOWNLOAD_DIR",
    "MAX_UPLOAD_BYTES",
    "MAX_UNPACKED_BYTES",
]
