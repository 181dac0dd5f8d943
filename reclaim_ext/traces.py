"""Reading request traces for replay: every request an object id.

The formats public cache traces come in:
- ``text``: one id per line (its first field); blank lines and ``*``
  comment lines are skipped, CRLF line ends are fine (the LIRS traces);
- ``lis``: the ARC paper's traces, each line ``start n_blocks 0 req_no``
  standing for n_blocks consecutive pages from start;
- ``csv``: one column of a CSV file, by index or header name;
- ``u32le``, ``u32be``, ``u64le``, ``u64be``: raw fixed-width integers;
- ``npy``: a numpy array file.
gzip, xz and zstd compressed files are read directly (zstd needs the
``zstandard`` package). ``auto`` picks the format from the extension.

Ids that are not integers (hashes, keys) are numbered in order of first
appearance: replay only needs to tell requests for the same object apart.
"""

from __future__ import annotations

import csv
import gzip
import io
import lzma
from pathlib import Path

import numpy as np

RAW_FORMATS = {"u32le": "<u4", "u32be": ">u4", "u64le": "<u8", "u64be": ">u8"}
FORMATS = ("auto", "text", "lis", "csv", "npy", *RAW_FORMATS)
COMPRESSIONS = (".gz", ".xz", ".zst", ".zstd")


class TraceError(ValueError):
    """A trace that cannot be read; the message names the file (and line)."""


def read_trace(path: str | Path, fmt: str = "auto", column: int | str = 0) -> np.ndarray:
    """The trace's requests as an int64 array of object ids."""
    path = Path(path)
    if fmt not in FORMATS:
        raise TraceError(f"{path}: unknown trace format {fmt!r} (known: {', '.join(FORMATS)})")
    fmt = _format_from_name(path) if fmt == "auto" else fmt
    data = _decompressed(path)
    if fmt in RAW_FORMATS:
        return _raw(path, data, RAW_FORMATS[fmt])
    if fmt == "npy":
        return _npy(path, data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise TraceError(f"{path}: not a text trace ({err}); for a binary one give --format") from None
    if fmt == "lis":
        return _lis(path, text)
    return _text(path, text) if fmt == "text" else _csv(path, text, column)


def _format_from_name(path: Path) -> str:
    suffixes = [s for s in path.suffixes if s not in COMPRESSIONS]
    last = suffixes[-1] if suffixes else ""
    if last == ".npy":
        return "npy"
    if last == ".csv":
        return "csv"
    if last == ".lis":
        return "lis"
    if last in (".bin", ".raw"):
        raise TraceError(f"{path}: a raw trace's width and byte order are not in its name: "
                         f"give --format {' or '.join(RAW_FORMATS)}")
    return "text"


def _decompressed(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise TraceError(f"{path}: {err.strerror or err}") from None
    try:
        if path.suffix == ".gz":
            return gzip.decompress(raw)
        if path.suffix == ".xz":
            return lzma.decompress(raw)
        if path.suffix in (".zst", ".zstd"):
            return _zstd_decompress(path, raw)
    except (OSError, EOFError, lzma.LZMAError) as err:
        raise TraceError(f"{path}: not a valid {path.suffix[1:]} file ({err})") from None
    return raw


def _zstd_decompress(path: Path, raw: bytes) -> bytes:
    try:
        import zstandard
    except ImportError:
        raise TraceError(f"{path}: reading zstd needs the zstandard package: "
                         "python3 -m pip install 'reclaim-ext[traces]'") from None
    try:
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)) as reader:
            return reader.read()
    except zstandard.ZstdError as err:
        raise TraceError(f"{path}: not a valid zstd file ({err})") from None


def _raw(path: Path, data: bytes, dtype: str) -> np.ndarray:
    width = np.dtype(dtype).itemsize
    if len(data) % width:
        raise TraceError(f"{path}: {len(data)} bytes is not a whole number of {width}-byte ids")
    ids = np.frombuffer(data, dtype)
    if ids.dtype.itemsize == 8 and ids.size and ids.max() > np.iinfo(np.int64).max:
        return _numbered(ids.astype(str))
    return ids.astype(np.int64)


def _npy(path: Path, data: bytes) -> np.ndarray:
    try:
        ids = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as err:
        raise TraceError(f"{path}: not a numpy array file ({err})") from None
    if ids.dtype.kind not in "iu":
        raise TraceError(f"{path}: a trace holds integer ids, not {ids.dtype}")
    return ids.ravel().astype(np.int64)


def _lines(text: str) -> list[list[str]]:
    """The fields of each line that is not blank or a * comment."""
    fields = (line.split() for line in text.splitlines())
    return [f for f in fields if f and not f[0].startswith("*")]


def _text(path: Path, text: str) -> np.ndarray:
    if "*" not in text and " " not in text and "\t" not in text:
        # one field a line (blank lines give no token): numpy parses the
        # tokens six times faster than a Python loop over the lines
        tokens = text.split()
        try:
            return np.array(tokens, dtype=np.int64)
        except (ValueError, OverflowError):  # ids that are no int64s: numbered below
            return _ids(tokens)
    return _ids([fields[0] for fields in _lines(text)])


def _lis(path: Path, text: str) -> np.ndarray:
    rows = _lines(text)
    for number, fields in enumerate(rows, start=1):
        if len(fields) < 2 or not (_is_int(fields[0]) and _is_int(fields[1])) or int(fields[1]) < 1:
            raise TraceError(f"{path}: request {number} is not 'start n_blocks ...': {' '.join(fields)!r}")
    starts = np.array([int(f[0]) for f in rows], np.int64)
    counts = np.array([int(f[1]) for f in rows], np.int64)
    # start, start + 1, ..., start + n - 1 for each request, in order
    first_of_run = np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + np.arange(int(counts.sum())) - first_of_run


def _csv(path: Path, text: str, column: int | str) -> np.ndarray:
    rows = [row for row in csv.reader(io.StringIO(text)) if row]
    if not rows:
        return np.empty(0, np.int64)
    index = column
    if isinstance(column, str):
        if column not in rows[0]:
            raise TraceError(f"{path}: no column {column!r} in the header ({', '.join(rows[0])})")
        index, rows = rows[0].index(column), rows[1:]
    elif not _is_int(rows[0][index] if index < len(rows[0]) else "0"):
        rows = rows[1:]  # a header line
    for number, row in enumerate(rows, start=1):
        if index >= len(row):
            raise TraceError(f"{path}: row {number} has no column {index}")
    return _ids([row[index].strip() for row in rows])


def _ids(tokens: list[str]) -> np.ndarray:
    if all(_is_int(t) for t in tokens):
        return np.array([int(t) for t in tokens], np.int64)
    return _numbered(np.array(tokens))


def _numbered(keys: np.ndarray) -> np.ndarray:
    """Dense ids in order of first appearance."""
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse].astype(np.int64)


def _is_int(token: str) -> bool:
    try:
        return -(1 << 63) <= int(token) < (1 << 63)
    except ValueError:
        return False
