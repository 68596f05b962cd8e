"""efficientnn.data: the offline digits and the checksummed MNIST download (local server only)."""

import functools
import gzip
import hashlib
import http.server
import socket
import struct
import threading

import numpy as np
import pytest
from sklearn.datasets import load_digits as sklearn_digits

from efficientnn.data import MNIST_FILES, DownloadError, load_digits, load_mnist, random_shift, resize_bilinear


# --------------------------------------------------------------------------- load_digits
def test_load_digits_shapes_dtypes_and_range():
    x_train, y_train, x_test, y_test = load_digits()
    n_total = len(sklearn_digits().target)
    assert x_train.shape[1:] == (28, 28, 1) and x_test.shape[1:] == (28, 28, 1)
    assert len(x_train) + len(x_test) == n_total
    assert len(x_test) == int(np.ceil(0.2 * n_total))
    assert x_train.dtype == np.float32 and x_test.dtype == np.float32
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    for x in (x_train, x_test):
        assert x.min() >= 0.0 and x.max() <= 1.0
    assert set(np.unique(y_train)) == set(range(10))


def test_load_digits_split_is_stratified():
    _, y_train, _, y_test = load_digits(test_fraction=0.25)
    y_all = np.concatenate([y_train, y_test])
    for digit in range(10):
        share_all = np.mean(y_all == digit)
        share_test = np.mean(y_test == digit)
        # stratification rounds each class to a whole image
        assert abs(share_test - share_all) <= 1.0 / len(y_test) + 1e-12


def test_load_digits_split_is_fixed_by_seed():
    a = load_digits(seed=3)
    b = load_digits(seed=3)
    c = load_digits(seed=4)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], c[0])


def test_load_digits_size_8_keeps_the_original_pixels():
    x_train, y_train, x_test, y_test = load_digits(size=8)
    original = sklearn_digits().images.reshape(-1, 64) / 16.0
    found = np.concatenate([x_train, x_test]).reshape(-1, 64)
    # Same multiset of images: sort both row-wise before comparing.
    key = lambda a: a[np.lexsort(a.T[::-1])]
    np.testing.assert_allclose(key(found), key(original), atol=1e-6)


def _bilinear_one_pixel(image, i, j, size):
    """Brute-force bilinear sample of output pixel (i, j), straight from the definition."""
    n = image.shape[0]

    def source(k):
        return min(max((k + 0.5) * n / size - 0.5, 0.0), n - 1.0)

    r, c = source(i), source(j)
    r0, c0 = int(np.floor(r)), int(np.floor(c))
    r1, c1 = min(r0 + 1, n - 1), min(c0 + 1, n - 1)
    fr, fc = r - r0, c - c0
    return (
        image[r0, c0] * (1 - fr) * (1 - fc)
        + image[r0, c1] * (1 - fr) * fc
        + image[r1, c0] * fr * (1 - fc)
        + image[r1, c1] * fr * fc
    )


@pytest.mark.parametrize("size", [28, 5, 13])
def test_resize_bilinear_matches_the_definition(size):
    rng = np.random.default_rng(0)
    images = rng.random((2, 8, 8))
    out = resize_bilinear(images, size)
    expected = np.array(
        [[[_bilinear_one_pixel(img, i, j, size) for j in range(size)] for i in range(size)] for img in images]
    )
    np.testing.assert_allclose(out, expected, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs", [{"size": 0}, {"size": 2.5}, {"size": "28"}, {"test_fraction": 0}, {"test_fraction": 1.5}]
)
def test_load_digits_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        load_digits(**kwargs)


# --------------------------------------------------------------------------- load_mnist
def _idx_gz(array):
    """Bytes of a gzip IDX file of unsigned bytes (magic 0, 0, 0x08, ndim; big-endian sizes)."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.tobytes())


@pytest.fixture
def mnist_files(tmp_path):
    """Small fake MNIST: 6 train and 4 test images of 28x28, with their true SHA-256 sums."""
    rng = np.random.default_rng(1)
    content = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (6, 28, 28)),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 6),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (4, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 4),
    }
    served = tmp_path / "served"
    served.mkdir()
    checksums = {}
    for name, array in content.items():
        data = _idx_gz(array)
        (served / name).write_bytes(data)
        checksums[name] = hashlib.sha256(data).hexdigest()
    return served, content, checksums


@pytest.fixture
def server(mnist_files):
    """A local HTTP server on 127.0.0.1 (random port) serving the fake MNIST files."""
    served, _, _ = mnist_files

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_load_mnist_downloads_parses_and_caches(mnist_files, server, tmp_path):
    _, content, checksums = mnist_files
    cache = tmp_path / "cache"
    x_train, y_train, x_test, y_test = load_mnist(cache_dir=cache, base_url=server, timeout=5, checksums=checksums)

    np.testing.assert_allclose(x_train[..., 0], content["train-images-idx3-ubyte.gz"] / 255.0, atol=1e-7)
    np.testing.assert_allclose(x_test[..., 0], content["t10k-images-idx3-ubyte.gz"] / 255.0, atol=1e-7)
    np.testing.assert_array_equal(y_train, content["train-labels-idx1-ubyte.gz"])
    np.testing.assert_array_equal(y_test, content["t10k-labels-idx1-ubyte.gz"])
    assert x_train.dtype == np.float32 and x_train.shape == (6, 28, 28, 1)
    assert y_train.dtype == np.int64
    assert sorted(p.name for p in cache.iterdir()) == sorted(MNIST_FILES)

    # A second call reads the verified cache: a dead server no longer matters.
    again = load_mnist(cache_dir=cache, base_url=_closed_port_url(), timeout=5, checksums=checksums)
    np.testing.assert_array_equal(again[0], x_train)


def _closed_port_url():
    # Bind, note the port, close: nothing listens there afterwards.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def test_load_mnist_offline_names_the_url_and_suggests_digits(tmp_path, mnist_files):
    _, _, checksums = mnist_files
    url = _closed_port_url()
    with pytest.raises(DownloadError) as info:
        load_mnist(cache_dir=tmp_path / "cache", base_url=url, timeout=5, checksums=checksums)
    assert isinstance(info.value, ConnectionError)
    message = str(info.value)
    assert url + MNIST_FILES[0] in message
    assert "load_digits" in message
    assert not any((tmp_path / "cache").iterdir()), "a failed download must leave nothing in the cache"


def test_load_mnist_rejects_a_checksum_mismatch(mnist_files, server, tmp_path):
    _, _, checksums = mnist_files
    wrong = dict(checksums)
    wrong["t10k-images-idx3-ubyte.gz"] = hashlib.sha256(b"something else").hexdigest()
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz.*checksum"):
        load_mnist(cache_dir=cache, base_url=server, timeout=5, checksums=wrong)
    assert not (cache / "t10k-images-idx3-ubyte.gz").exists()


def test_load_mnist_redownloads_a_corrupted_cache_file(mnist_files, server, tmp_path):
    _, content, checksums = mnist_files
    cache = tmp_path / "cache"
    load_mnist(cache_dir=cache, base_url=server, timeout=5, checksums=checksums)
    (cache / "train-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    _, y_train, _, _ = load_mnist(cache_dir=cache, base_url=server, timeout=5, checksums=checksums)
    np.testing.assert_array_equal(y_train, content["train-labels-idx1-ubyte.gz"])


def test_load_mnist_rejects_a_file_that_is_not_idx(mnist_files, server, tmp_path):
    served, _, checksums = mnist_files
    # The served file matches its (given) checksum but is not gzip IDX at all.
    bad = b"<html>not found</html>"
    (served / "train-labels-idx1-ubyte.gz").write_bytes(bad)
    checksums = dict(checksums, **{"train-labels-idx1-ubyte.gz": hashlib.sha256(bad).hexdigest()})
    with pytest.raises(ValueError, match="gzip"):
        load_mnist(cache_dir=tmp_path / "cache", base_url=server, timeout=5, checksums=checksums)


def test_load_mnist_rejects_labels_that_do_not_match_the_images(mnist_files, server, tmp_path):
    served, _, checksums = mnist_files
    data = _idx_gz(np.zeros(5))  # 5 labels for 6 images
    (served / "train-labels-idx1-ubyte.gz").write_bytes(data)
    checksums = dict(checksums, **{"train-labels-idx1-ubyte.gz": hashlib.sha256(data).hexdigest()})
    with pytest.raises(ValueError, match="labels"):
        load_mnist(cache_dir=tmp_path / "cache", base_url=server, timeout=5, checksums=checksums)


def test_load_mnist_needs_a_checksum_for_every_file(tmp_path):
    with pytest.raises(ValueError, match="checksums"):
        load_mnist(cache_dir=tmp_path, base_url=_closed_port_url(), checksums={})


# --------------------------------------------------------------------------- random_shift
def _shifted(image, dy, dx):
    """Brute force: pixel (i, j) of the result is image[i - dy, j - dx], or 0 outside."""
    h, w, c = image.shape
    out = np.zeros_like(image)
    for i in range(h):
        for j in range(w):
            if 0 <= i - dy < h and 0 <= j - dx < w:
                out[i, j] = image[i - dy, j - dx]
    return out


def test_random_shift_moves_each_image_by_at_most_max_shift():
    rng = np.random.default_rng(0)
    x = rng.random((20, 6, 7, 2)).astype(np.float32)
    shifted = random_shift(x, np.random.default_rng(1), max_shift=2)
    assert shifted.shape == x.shape and shifted.dtype == x.dtype
    moves = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
    found = set()
    for original, result in zip(x, shifted):
        matches = [m for m in moves if np.array_equal(result, _shifted(original, *m))]
        assert matches, "result is not a whole-pixel shift of the input within max_shift"
        found.add(matches[0])
    assert len(found) > 1, "every image got the same shift"


def test_random_shift_by_zero_is_the_identity():
    x = np.random.default_rng(0).random((3, 5, 5, 1))
    np.testing.assert_array_equal(random_shift(x, np.random.default_rng(0), max_shift=0), x)


@pytest.mark.parametrize("max_shift", [-1, 1.5, True])
def test_random_shift_rejects_bad_max_shift(max_shift):
    with pytest.raises(ValueError):
        random_shift(np.zeros((1, 4, 4, 1)), max_shift=max_shift)
