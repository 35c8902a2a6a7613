"""Calibration samples: where they come from, how they split into shards, and the check every
sample gets before it runs.

Three sources, each a picklable description of a contiguous run of samples, so a shard can be
handed to another process (or a dask worker) as a few strings and numbers where the data is
on disk:

- `ArraySamples`: dicts of arrays keyed by input name (from any iterable);
- `NpzSamples`: one `.npz` whose arrays, keyed by input name, carry a leading axis of samples
  (members stored uncompressed, as `np.savez` writes them, are memory-mapped: a shard reads
  its own samples only);
- `FileSamples`: a directory of `.npz` files holding one sample each, in file-name order;
- `TensorProtoSamples`: ONNX's test-data layout, a directory of `test_data_set_<n>`
  directories holding `input_<i>.pb` (a serialized TensorProto for the model's i-th input),
  which the ONNX model zoo ships and ONNX Runtime's `static_quantize_runner` calibrates from.

Every problem is a `CalibrationDataError` whose one line names the sample and the input.
"""

from __future__ import annotations

import itertools
import os
import struct
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from xdsl.dialects import func

from runtime.native import Signature
from runtime.signature import argument_names, expected_array

LOCAL_HEADER = struct.Struct("<4s22xHH")  # zip local file header: signature ... name, extra


class CalibrationDataError(ValueError):
    """Calibration data that cannot be used, in one line naming the sample and the input."""


@dataclass(frozen=True)
class InputSpec:
    """What one argument of the calibrated function takes."""

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]


def input_specs(function: func.FuncOp) -> tuple[InputSpec, ...]:
    types = function.function_type.inputs.data
    return tuple(
        InputSpec(name, *expected_array(t))
        for name, t in zip(argument_names(function), types, strict=True)
    )


def signature_specs(signature: Signature) -> tuple[InputSpec, ...]:
    """input_specs of a compiled function, read off its signature (no IR needed)."""
    return tuple(
        InputSpec(name, dtype, shape)
        for name, (dtype, shape) in zip(signature.arguments, signature.inputs, strict=True)
    )


def _words(names: Iterable[str]) -> str:
    return ", ".join(repr(n) for n in names) or "nothing"


def check_sample(label: str, sample: object, specs: tuple[InputSpec, ...]) -> list[np.ndarray]:
    """The sample's arrays in argument order, each of the expected dtype and shape."""
    if not isinstance(sample, Mapping):
        raise CalibrationDataError(
            f"{label} is a {type(sample).__name__}, not a dict of arrays keyed by input name"
        )
    names = [spec.name for spec in specs]
    unknown = [k for k in sample if k not in names]
    if unknown:
        raise CalibrationDataError(
            f"{label}: unknown input {_words(unknown)} (the model's inputs: {_words(names)})"
        )
    arrays = []
    for spec in specs:
        if spec.name not in sample:
            raise CalibrationDataError(
                f"{label}: no input '{spec.name}' (it holds {_words(sample)})"
            )
        array = np.asarray(sample[spec.name])
        if array.dtype != spec.dtype:
            raise CalibrationDataError(
                f"{label}: input '{spec.name}' has dtype {array.dtype}, expected {spec.dtype}"
            )
        if array.shape != spec.shape:
            raise CalibrationDataError(
                f"{label}: input '{spec.name}' has shape {list(array.shape)}, "
                f"expected {list(spec.shape)}"
            )
        arrays.append(array)
    return arrays


@dataclass(frozen=True)
class ArraySamples:
    """Samples held in memory; `first` is the index of the first one (for labels)."""

    samples: tuple[object, ...]
    first: int = 0

    def __len__(self) -> int:
        return len(self.samples)

    def shard(self, start: int, stop: int) -> ArraySamples:
        return ArraySamples(self.samples[start:stop], self.first + start)

    def labelled(self) -> Iterator[tuple[str, object]]:
        for index, sample in enumerate(self.samples, self.first):
            yield f"sample {index}", sample


@dataclass(frozen=True)
class FileSamples:
    """One sample per `.npz` file."""

    paths: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.paths)

    def shard(self, start: int, stop: int) -> FileSamples:
        return FileSamples(self.paths[start:stop])

    def labelled(self) -> Iterator[tuple[str, object]]:
        for path in self.paths:
            yield f"sample '{path}'", dict(_read_npz(path))


@dataclass(frozen=True)
class TensorProtoSamples:
    """One `test_data_set_<n>` directory a sample; `input_<i>.pb` feeds input `names[i]`."""

    directories: tuple[str, ...]
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.directories)

    def shard(self, start: int, stop: int) -> TensorProtoSamples:
        return TensorProtoSamples(self.directories[start:stop], self.names)

    def labelled(self) -> Iterator[tuple[str, object]]:
        for directory in self.directories:
            yield f"sample '{directory}'", _read_test_data_set(directory, self.names)


def _read_test_data_set(directory: str, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    try:
        from onnx import TensorProto, numpy_helper
    except ImportError:
        raise CalibrationDataError(
            f"reading ONNX test data ('{directory}') needs the onnx package "
            "(pip install 'qdialect[onnx]')"
        ) from None
    sample = {}
    for index, name in enumerate(names):
        path = Path(directory) / f"input_{index}.pb"
        tensor = TensorProto()
        try:
            tensor.ParseFromString(path.read_bytes())
            sample[name] = numpy_helper.to_array(tensor)
        except OSError as err:
            raise CalibrationDataError(
                f"sample '{directory}': cannot read '{path.name}' for input '{name}': "
                f"{err.strerror}"
            ) from None
        except Exception as err:  # protobuf's DecodeError, or a tensor numpy cannot hold
            raise CalibrationDataError(
                f"sample '{directory}': '{path.name}' is not a TensorProto: {err}"
            ) from None
    return sample


def _test_data_sets(path: Path) -> tuple[str, ...]:
    """The `test_data_set_<n>` directories under `path`, in the order of n."""
    found = [p for p in path.glob("test_data_set_*") if p.is_dir()]

    def number(p: Path) -> tuple[int, str]:
        tail = p.name.removeprefix("test_data_set_")
        return (int(tail) if tail.isdigit() else -1, p.name)

    return tuple(str(p) for p in sorted(found, key=number))


@dataclass(frozen=True)
class NpzSamples:
    """Samples `start` to `stop` along the leading axis of every array of one `.npz`."""

    path: str
    start: int
    stop: int

    def __len__(self) -> int:
        return self.stop - self.start

    def shard(self, start: int, stop: int) -> NpzSamples:
        return NpzSamples(self.path, self.start + start, self.start + stop)

    def labelled(self) -> Iterator[tuple[str, object]]:
        arrays = _read_npz(self.path)
        for index in range(self.start, self.stop):
            yield (
                f"sample {index} of '{self.path}'",
                {k: np.ascontiguousarray(v[index]) for k, v in arrays.items()},
            )


@dataclass(frozen=True)
class StreamSamples:
    """Samples from an iterator, read once as they come (a serial pass 1 keeps no sample
    longer than its run); `materialized` holds them for shards or a second pass."""

    stream: Iterator[object]

    def labelled(self) -> Iterator[tuple[str, object]]:
        for index, sample in enumerate(self.stream):
            yield f"sample {index}", sample

    def materialized(self) -> ArraySamples:
        samples = ArraySamples(tuple(self.stream))
        if not samples.samples:
            raise CalibrationDataError("calibration data is empty: no samples")
        return samples


Samples = ArraySamples | FileSamples | NpzSamples | TensorProtoSamples


def _array_header(member) -> tuple | None:
    """(shape, fortran order, dtype) from the `.npy` header at the start of `member` (None: a
    format version other than 1.0 and 2.0, numpy.savez's)."""
    version = np.lib.format.read_magic(member)
    if version not in ((1, 0), (2, 0)):
        return None
    return getattr(np.lib.format, f"read_array_header_{version[0]}_0")(member)


def _mapped(path: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray | None:
    """A stored member's array mapped from the file (None: compressed, or not mappable)."""
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    with archive.open(info) as member:
        read = _array_header(member)
        if read is None:
            return None
        shape, fortran, dtype = read
        header = member.tell()
    if dtype.hasobject:
        return None
    with open(path, "rb") as handle:
        handle.seek(info.header_offset)
        signature, name_length, extra_length = LOCAL_HEADER.unpack(handle.read(30))
    if signature != b"PK\x03\x04":
        return None
    offset = info.header_offset + 30 + name_length + extra_length + header
    if 0 in shape:
        return np.empty(shape, dtype)
    return np.memmap(path, dtype, "r", offset, shape, "F" if fortran else "C")


def _read_npz(path: str) -> dict[str, np.ndarray]:
    """The arrays of an `.npz` by name: stored members memory-mapped, others read."""
    try:
        with zipfile.ZipFile(path) as archive:
            arrays = {}
            for info in archive.infolist():
                name = info.filename.removesuffix(".npy")
                array = _mapped(path, archive, info)
                if array is None:
                    with archive.open(info) as member:
                        array = np.lib.format.read_array(member, allow_pickle=False)
                arrays[name] = array
            return arrays
    except (OSError, zipfile.BadZipFile, ValueError) as err:
        reason = _reason(err)
        raise CalibrationDataError(f"cannot read calibration data '{path}': {reason}") from None


def _reason(err: Exception) -> object:
    """What to say of a file that could not be read: the OS's words when it has some."""
    return err.strerror if isinstance(err, OSError) and err.strerror else err


def _npz_samples(path: str, specs: tuple[InputSpec, ...]) -> NpzSamples:
    arrays = _read_npz(path)
    counts = {name: (a.shape[0] if a.ndim else None) for name, a in arrays.items()}
    for spec in specs:
        array = arrays.get(spec.name)
        if array is not None and (array.ndim == 0 or tuple(array.shape[1:]) != spec.shape):
            raise CalibrationDataError(
                f"'{path}': array '{spec.name}' has shape {list(array.shape)}, expected "
                f"[samples, {', '.join(map(str, spec.shape))}] (a leading axis of samples)"
            )
    if len(set(counts.values())) > 1:
        listing = ", ".join(f"'{n}' {c}" for n, c in counts.items())
        raise CalibrationDataError(
            f"'{path}': arrays hold different numbers of samples ({listing})"
        )
    count = next(iter(counts.values()), 0) or 0
    if count == 0:
        raise CalibrationDataError(f"calibration data '{path}' holds no samples")
    return NpzSamples(path, 0, count)


def _stacked_samples(arrays: Mapping) -> ArraySamples:
    """A dict of arrays with a leading axis of samples (what an `.npz` file holds in memory)."""
    counts = {}
    for name, array in arrays.items():
        shape = np.shape(array)
        if not shape:
            raise CalibrationDataError(
                f"calibration array '{name}' has no leading axis of samples (a scalar)"
            )
        counts[name] = shape[0]
    if len(set(counts.values())) > 1:
        listing = ", ".join(f"'{k}': {v}" for k, v in counts.items())
        raise CalibrationDataError(f"arrays hold different numbers of samples ({listing})")
    count = next(iter(counts.values()), 0)
    if count == 0:
        raise CalibrationDataError("calibration data is empty: no samples")
    return ArraySamples(
        tuple({k: np.asarray(v)[i] for k, v in arrays.items()} for i in range(count))
    )


def open_samples(
    source: str | os.PathLike | Iterable[object], specs: tuple[InputSpec, ...]
) -> Samples | StreamSamples:
    """The samples of a path (an `.npz`, a directory of `.npz` files, or a directory of ONNX
    `test_data_set_<n>` directories), a dict of arrays with a leading axis of samples, a
    sequence of dicts of arrays, or any other iterable of them (a `StreamSamples`)."""
    if isinstance(source, ArraySamples | FileSamples | NpzSamples | StreamSamples):
        return source  # already opened (e.g. a slice of an .npz: NpzSamples(path, 0, count))
    if isinstance(source, TensorProtoSamples):
        return source
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir():
            files = tuple(str(p) for p in sorted(path.glob("*.npz")))
            data_sets = _test_data_sets(path)
            if data_sets and files:
                raise CalibrationDataError(
                    f"calibration data '{path}' holds both .npz files and ONNX "
                    "test_data_set_<n> directories: which are the samples?"
                )
            if data_sets:
                return TensorProtoSamples(data_sets, tuple(spec.name for spec in specs))
            if not files:
                raise CalibrationDataError(
                    f"calibration data '{path}' holds no .npz files (nor ONNX "
                    "test_data_set_<n> directories)"
                )
            return FileSamples(files)
        if not path.exists():
            raise CalibrationDataError(f"cannot read calibration data '{path}': no such file")
        return _npz_samples(str(path), specs)
    if isinstance(source, Mapping):
        return _stacked_samples(source)
    if not isinstance(source, Sequence):
        return StreamSamples(iter(source))
    if not source:
        raise CalibrationDataError("calibration data is empty: no samples")
    return ArraySamples(tuple(source))


def peek_shapes(
    source: str | os.PathLike | Iterable[object],
) -> tuple[dict[str, tuple[int, ...]], str | os.PathLike | Iterable[object]]:
    """The shapes of the first sample's arrays by input name (what fixes a model's dynamic
    input dimensions: qdialect.onnx_import.input_dims), and the source to read the samples
    from after the peek (an iterator is read one sample ahead, so it comes back chained).
    Sources whose first sample is not at hand cheaply (ONNX test-data sets, opened samples)
    give no shapes; unreadable ones none either, for open_samples to report."""
    shapes: dict[str, tuple[int, ...]] = {}
    first: object = None
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            if path.is_file():
                shapes = {k: v[1:] for k, v in npz_shapes(path).items()}
            elif path.is_dir():
                files = sorted(path.glob("*.npz"))
                shapes = npz_shapes(files[0]) if files else {}
        except CalibrationDataError:
            return {}, source
    elif isinstance(source, Mapping):
        shapes = {k: tuple(np.shape(v)[1:]) for k, v in source.items()}
    elif isinstance(source, Sequence) and not isinstance(source, Samples | StreamSamples):
        first = source[0] if source else None
    elif not isinstance(source, Samples | StreamSamples):
        stream = iter(source)
        try:
            first = next(stream)
        except StopIteration:
            return {}, ()
        source = itertools.chain([first], stream)
    if isinstance(first, Mapping):
        shapes = {k: tuple(np.shape(v)) for k, v in first.items()}
    return shapes, source


def npz_shapes(path: str | os.PathLike) -> dict[str, tuple[int, ...]]:
    """The shapes of an `.npz`'s arrays by name, from their headers (no data is read)."""
    shapes = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                with archive.open(info) as member:
                    read = _array_header(member)
                if read is not None:  # else no shape: the dimension stays open and is named
                    shapes[info.filename.removesuffix(".npy")] = tuple(read[0])
    except (OSError, zipfile.BadZipFile, ValueError) as err:
        raise CalibrationDataError(f"cannot read '{path}': {_reason(err)}") from None
    return shapes
