"""The dataset store (cache, memory-mapping, fingerprints) and the built-in datasets."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle

import numpy as np
import pytest

from grader.config import dataset_cache_dir
from plugins import DatasetDef
from plugins import builtin_datasets as builtin
from plugins.datasets import DatasetError, DatasetStore, fingerprint


def counting_dataset(calls: list[int], value: float = 1.0) -> DatasetDef:
    def load(cache_dir):
        calls.append(1)
        return {"X": np.arange(12, dtype=np.float64).reshape(3, 4) * value,
                "y": np.array([0, 1, 2, 1])}

    return DatasetDef(name="toy", load=load, hidden=frozenset({"y"}))


def test_first_get_builds_the_cache_and_later_stores_memory_map_it(tmp_path):
    calls: list[int] = []
    definition = counting_dataset(calls)
    first = DatasetStore({"toy": definition}, tmp_path).get("toy")
    assert calls == [1]
    assert sorted(p.name for p in (tmp_path / "toy").iterdir()) == [
        "X.npy", "manifest.json", "y.npy"]
    # a second store stands for another worker process: no new load, memory-mapped arrays
    second = DatasetStore({"toy": definition}, tmp_path).get("toy")
    assert calls == [1]
    assert isinstance(second.arrays["X"], np.memmap)
    assert not second.arrays["X"].flags.writeable
    np.testing.assert_array_equal(second.arrays["X"], first.arrays["X"])
    assert second.fingerprint == first.fingerprint == fingerprint(
        {"X": np.asarray(first.arrays["X"]), "y": np.asarray(first.arrays["y"])})
    assert second.hidden == frozenset({"y"})


def test_loads_once_per_store(tmp_path):
    calls: list[int] = []
    store = DatasetStore({"toy": counting_dataset(calls)}, tmp_path)
    assert store.get("toy") is store.get("toy")
    assert calls == [1]


def test_fingerprint_depends_on_values_names_and_dtype():
    base = {"a": np.arange(4.0)}
    assert fingerprint(base) == fingerprint({"a": np.arange(4.0)})
    assert fingerprint(base) != fingerprint({"a": np.arange(4.0) + 1e-9})
    assert fingerprint(base) != fingerprint({"b": np.arange(4.0)})
    assert fingerprint(base) != fingerprint({"a": np.arange(4, dtype=np.float32)})


def test_a_broken_cache_is_rebuilt(tmp_path):
    calls: list[int] = []
    store = DatasetStore({"toy": counting_dataset(calls)}, tmp_path)
    store.get("toy")
    (tmp_path / "toy" / "X.npy").unlink()
    fresh = DatasetStore({"toy": counting_dataset(calls)}, tmp_path)
    assert not fresh.is_cached("toy")
    assert fresh.get("toy").arrays["X"].shape == (3, 4)
    assert calls == [1, 1]


def test_unknown_dataset_names_the_installed_ones(tmp_path):
    store = DatasetStore({"toy": counting_dataset([])}, tmp_path)
    with pytest.raises(DatasetError, match="unknown dataset 'nope' .*toy"):
        store.get("nope")


def test_object_arrays_are_refused(tmp_path):
    bad = DatasetDef(name="bad", load=lambda d: {"x": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(DatasetError, match="not a plain numpy array"):
        DatasetStore({"bad": bad}, tmp_path).get("bad")


def test_small_builtin_datasets(tmp_path):
    store = DatasetStore({d.name: d for d in builtin.DATASETS}, tmp_path)
    gender = store.get("gender").arrays
    np.testing.assert_array_equal(gender["data"], [[-2, -1], [25, 6], [17, 4], [-15, -6]])
    np.testing.assert_array_equal(gender["y_trues"], [1, 0, 0, 1])
    xor = store.get("xor").arrays
    np.testing.assert_array_equal(xor["y"], [0, 1, 1, 0])
    digits = store.get("digits")
    assert digits.arrays["X_train"].shape == (64, 1500)
    assert digits.arrays["X_test"].shape == (64, 297)
    assert 0.0 <= float(np.min(digits.arrays["X_train"])) <= float(
        np.max(digits.arrays["X_train"])) <= 1.0
    assert digits.hidden == frozenset({"y_test"})


def _fake_mnist_gz(rng: np.random.Generator) -> bytes:
    def split(n):
        return (rng.integers(0, 256, size=(n, 784)).astype(np.float32) / 256,
                rng.integers(0, 10, size=n))

    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as fh:
        pickle.dump((split(5), split(3), split(4)), fh)
    return buffer.getvalue()


def test_mnist_conversion_refuses_a_file_with_another_hash():
    with pytest.raises(builtin.MnistUnavailable, match="refusing"):
        builtin.mnist_from_pickle_gz(_fake_mnist_gz(np.random.default_rng(0)))


def test_mnist_conversion_to_uint8_columns(monkeypatch):
    data = _fake_mnist_gz(np.random.default_rng(1))
    monkeypatch.setattr(builtin, "MNIST_SHA256", hashlib.sha256(data).hexdigest())
    with gzip.open(io.BytesIO(data)) as fh:
        train, validation, test = pickle.load(fh)
    arrays = builtin.mnist_from_pickle_gz(data)
    assert arrays["X_train"].shape == (784, 8) and arrays["X_train"].dtype == np.uint8
    assert arrays["X_test"].shape == (784, 4)
    np.testing.assert_array_equal(arrays["X_train"][:, 5:].T,
                                  np.rint(validation[0].astype(np.float64) * 256))
    np.testing.assert_array_equal(arrays["y_train"], np.concatenate([train[1], validation[1]]))
    np.testing.assert_array_equal(arrays["y_test"], test[1])


def test_unprepared_mnist_says_which_command_prepares_it(tmp_path, monkeypatch):
    monkeypatch.setattr(builtin, "_installed_mnist_file", lambda: None)
    with pytest.raises(builtin.MnistUnavailable, match="neurograde datasets prepare"):
        builtin.load_mnist(tmp_path)


def test_prepared_mnist_has_the_standard_splits():
    store = DatasetStore({d.name: d for d in builtin.DATASETS}, dataset_cache_dir())
    if not store.is_cached("mnist"):
        pytest.skip("MNIST is not prepared: run `neurograde datasets prepare` first")
    mnist = store.get("mnist")
    assert mnist.arrays["X_train"].shape == (784, 60000)
    assert mnist.arrays["X_test"].shape == (784, 10000)
    assert mnist.arrays["X_train"].dtype == np.uint8
    assert np.bincount(mnist.arrays["y_test"]).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(mnist.arrays["y_train"]).sum() == 60000
    assert mnist.hidden == frozenset({"y_test"})
    assert mnist.fingerprint.startswith("sha256:")


def test_prepare_and_list_commands(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from grader.course_cli import datasets

    monkeypatch.setenv("NEUROGRADE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("NEUROGRADE_DISABLE_PLUGIN_AUTOLOAD", "1")
    runner = CliRunner()
    prepared = runner.invoke(datasets, ["prepare", "gender", "digits"])
    assert prepared.exit_code == 0, prepared.output
    assert "digits: prepared (X_test (64, 297)" in prepared.output
    assert (tmp_path / "datasets" / "gender" / "manifest.json").is_file()
    again = runner.invoke(datasets, ["prepare", "gender"])
    assert "already prepared" in again.output
    listing = runner.invoke(datasets, ["list"]).output
    assert "gender     cached" in listing
    assert "mnist      not prepared" in listing and "LeCun" in listing
