"""Datasets for the course, as NHWC float32 images in [0, 1] and int64 labels.

- :func:`load_digits` works offline: scikit-learn's bundled 8x8 handwritten digits (1,797
  images), resized to MNIST's 28x28 so that ``base_cnn`` runs on them unchanged.
- :func:`load_mnist` downloads the real MNIST (70,000 images, 28x28) once, checks every file
  against its published SHA-256 sum, and reads it from a local cache afterwards.

Example
-------
>>> x_train, y_train, x_test, y_test = load_digits()
>>> x_train.shape, x_train.dtype, y_train.dtype
((1437, 28, 28, 1), dtype('float32'), dtype('int64'))
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from .validation import positive_int

__all__ = [
    "load_digits",
    "load_mnist",
    "resize_bilinear",
    "random_shift",
    "DownloadError",
    "MNIST_FILES",
    "MNIST_SHA256",
]

#: The four files of MNIST, in the order load_mnist returns their contents.
MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

#: SHA-256 of the original gzip files (the sums torchvision, TensorFlow Datasets and others
#: publish; every public mirror serves these same bytes).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

#: The mirror TensorFlow uses (yann.lecun.com itself often refuses scripted downloads).
MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"


class DownloadError(ConnectionError):
    """A dataset file could not be downloaded (offline, refused, timed out, HTTP error)."""


# --------------------------------------------------------------------------- digits
def resize_bilinear(images, size):
    """Resize square images with bilinear interpolation (pixel centres aligned, edges clamped).

    Output pixel ``i`` samples the input at ``(i + 0.5) * n / size - 0.5``, the convention of
    PIL, OpenCV and ``torch.nn.functional.interpolate(align_corners=False)``, clamped to the
    image. Each output pixel is a convex combination of input pixels, so the value range is kept.

    Parameters
    ----------
    images : (N, n, n), any real dtype
    size : int, output height and width in pixels

    Returns
    -------
    resized : (N, size, size) float64

    Example
    -------
    >>> resize_bilinear(np.ones((1, 8, 8)), 28).shape
    (1, 28, 28)
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"images must have shape (N, n, n), got {images.shape}.")
    weights = _bilinear_weights(images.shape[1], positive_int(size, "size"))
    # Bilinear interpolation is separable: rows, then columns, each a small matrix product.
    return np.einsum("oi,nij,pj->nop", weights, images, weights)


def _bilinear_weights(n_in, n_out):
    """(n_out, n_in) matrix whose row i holds the two interpolation weights of output pixel i."""
    src = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
    src = np.clip(src, 0, n_in - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = src - lo
    weights = np.zeros((n_out, n_in))
    np.add.at(weights, (np.arange(n_out), lo), 1 - frac)
    np.add.at(weights, (np.arange(n_out), hi), frac)
    return weights


def load_digits(size=28, test_fraction=0.2, seed=0):
    """scikit-learn's 8x8 digits, resized to ``size`` x ``size``, split into train and test.

    The 1,797 images (values 0..16) are scaled to [0, 1] and resized with
    :func:`resize_bilinear`. The split is stratified (each digit keeps its share in both parts)
    and fixed by ``seed``. Needs no network: the data ships inside scikit-learn.

    Parameters
    ----------
    size : int, output height and width in pixels (28 matches MNIST and ``base_cnn``)
    test_fraction : float in (0, 1), share of the images held out for testing
    seed : int, fixes the split

    Returns
    -------
    x_train : (N_train, size, size, 1) float32 in [0, 1]
    y_train : (N_train,) int64 in 0..9
    x_test : (N_test, size, size, 1) float32 in [0, 1]
    y_test : (N_test,) int64 in 0..9

    Example
    -------
    >>> x_train, y_train, x_test, y_test = load_digits(test_fraction=0.2)
    >>> len(x_train), len(x_test)
    (1437, 360)
    """
    from sklearn.datasets import load_digits as _sklearn_digits
    from sklearn.model_selection import train_test_split

    size = positive_int(size, "size")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be a number strictly between 0 and 1, got {test_fraction!r}.")
    bunch = _sklearn_digits()
    images = bunch.images / 16.0  # the digits' pixel values run 0..16
    x = resize_bilinear(images, size).astype(np.float32)[..., None]
    y = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    return x_train, y_train, x_test, y_test


def random_shift(x, rng=None, max_shift=2):
    """Move each image by a random whole number of pixels, filling the uncovered border with 0.

    A cheap augmentation for :func:`efficientnn.train.fit` (``augment=random_shift``): the
    model sees every digit at slightly different positions, so it cannot memorise exact pixels.
    Trained on the 1,437 training digits, ``base_cnn`` ends about a point more accurate with it
    (mean of six seeds 98.4% against 97.4%; see ``benchmarks/bench_train.py``).

    Parameters
    ----------
    x : (N, H, W, C)
    rng : numpy Generator, or None for a fresh unseeded one
    max_shift : int >= 0, largest shift in pixels along each axis (drawn uniformly from
        -max_shift..max_shift, independently for rows, columns and images)

    Returns
    -------
    shifted : (N, H, W, C), same dtype as x

    Example
    -------
    >>> x = np.zeros((1, 5, 5, 1)); x[0, 2, 2, 0] = 1
    >>> y = random_shift(x, np.random.default_rng(0), max_shift=1)
    >>> float(y.sum())
    1.0
    """
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must be a batch of images (N, H, W, C), got shape {x.shape}.")
    s = positive_int(max_shift, "max_shift", allow_zero=True)
    rng = np.random.default_rng() if rng is None else rng
    n, h, w, _ = x.shape
    padded = np.pad(x, ((0, 0), (s, s), (s, s), (0, 0)))
    # Output pixel (i, j) of image k reads padded pixel (i + s - dy_k, j + s - dx_k).
    dy = rng.integers(-s, s + 1, n)
    dx = rng.integers(-s, s + 1, n)
    rows = np.arange(h)[None, :] + s - dy[:, None]
    cols = np.arange(w)[None, :] + s - dx[:, None]
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


# --------------------------------------------------------------------------- MNIST
def load_mnist(cache_dir=None, base_url=MNIST_URL, timeout=30, checksums=None):
    """MNIST's 60,000 training and 10,000 test images, downloaded once and cached.

    Each file is fetched from ``base_url + name``, checked against its SHA-256 sum before it is
    kept, and read from ``cache_dir`` on later calls (re-checked each time).

    Parameters
    ----------
    cache_dir : str or Path, default ``$XDG_CACHE_HOME/efficientnn/mnist`` (``~/.cache/...``)
    base_url : str, folder URL serving the four files of :data:`MNIST_FILES`
    timeout : float, seconds to wait for the server on each request
    checksums : dict of file name -> SHA-256 hex, default :data:`MNIST_SHA256`

    Returns
    -------
    x_train : (60000, 28, 28, 1) float32 in [0, 1]
    y_train : (60000,) int64
    x_test : (10000, 28, 28, 1) float32 in [0, 1]
    y_test : (10000,) int64

    Raises
    ------
    DownloadError (a ConnectionError)
        when a file cannot be downloaded; :func:`load_digits` works offline instead.
    ValueError
        when a file does not match its checksum or is not a valid gzip IDX file.

    Example
    -------
    >>> x_train, y_train, x_test, y_test = load_mnist()   # doctest: +SKIP
    >>> x_train.shape                                        # doctest: +SKIP
    (60000, 28, 28, 1)
    """
    checksums = dict(MNIST_SHA256 if checksums is None else checksums)
    missing = [name for name in MNIST_FILES if name not in checksums]
    if missing:
        raise ValueError(f"checksums has no SHA-256 for {missing}; it needs one for each of {list(MNIST_FILES)}.")
    cache = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    if not base_url.endswith("/"):
        base_url += "/"

    arrays = []
    for name in MNIST_FILES:
        path = _fetch(name, base_url, cache, checksums[name].lower(), timeout)
        arrays.append(_read_idx(path))
    train_images, train_labels, test_images, test_labels = arrays
    return (
        _as_images(train_images, "train"),
        _as_labels(train_labels, len(train_images), "train"),
        _as_images(test_images, "t10k"),
        _as_labels(test_labels, len(test_images), "t10k"),
    )


def _default_cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "efficientnn" / "mnist"


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(name, base_url, cache, expected_sha256, timeout):
    """Path of a verified copy of ``name`` in ``cache``, downloading it if needed."""
    path = cache / name
    if path.exists() and _sha256(path) == expected_sha256:
        return path
    url = base_url + name
    # Download next to the target and rename only once verified, so an interrupted or
    # corrupt download never sits in the cache under the real name.
    fd, tmp = tempfile.mkstemp(dir=cache, prefix=name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    for block in iter(lambda: response.read(1 << 20), b""):
                        out.write(block)
            except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException) as err:
                reason = getattr(err, "reason", err)
                raise DownloadError(
                    f"could not download {url}: {reason}. Check the network connection or pass "
                    f"another mirror as base_url; efficientnn.data.load_digits() needs no network."
                ) from err
        actual = _sha256(tmp)
        if actual != expected_sha256:
            raise ValueError(
                f"{url} does not match its checksum: expected SHA-256 {expected_sha256}, got {actual}. "
                f"The mirror may serve a different or corrupt file; nothing was cached."
            )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


_IDX_UBYTE = 0x08


def _read_idx(path):
    """Read a gzip-compressed IDX file of unsigned bytes into an array of the stored shape."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise ValueError(f"{path} is not a valid gzip file ({err}); delete it and download again.") from err
    # Header: two zero bytes, a type code, the number of dimensions, then each size as a
    # big-endian uint32 (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT").
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file: bad magic number {raw[:4]!r}.")
    if raw[2] != _IDX_UBYTE:
        raise ValueError(f"{path}: IDX type code {raw[2]:#04x}, expected {_IDX_UBYTE:#04x} (unsigned bytes).")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: IDX header is truncated.")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    data = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header promises shape {shape} ({int(np.prod(shape))} bytes), file holds {data.size}.")
    return data.reshape(shape)


def _as_images(array, which):
    if array.ndim != 3:
        raise ValueError(f"{which} images: expected a 3-D IDX array (N, H, W), got shape {array.shape}.")
    return (array.astype(np.float32) / 255.0)[..., None]


def _as_labels(array, n_images, which):
    if array.shape != (n_images,):
        raise ValueError(f"{which} labels: expected shape ({n_images},) to match the images, got {array.shape}.")
    if array.size and array.max() > 9:
        raise ValueError(f"{which} labels: expected digits 0..9, found {int(array.max())}.")
    return array.astype(np.int64)
