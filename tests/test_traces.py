"""Reading traces: every format and compression replay accepts, and clear
errors for what it cannot read."""

from __future__ import annotations

import gzip
import io
import lzma

import numpy as np
import pytest

from reclaim_ext.traces import TraceError, read_trace

IDS = np.array([5, 3, 5, 7, 1 << 40, 3], np.int64)


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_text_skips_blank_and_comment_lines_and_crlf(tmp_path):
    path = write(tmp_path, "t.trace", b"* ARC trace\r\n5\r\n3\r\n\r\n5\n7\n1099511627776\n3\n")
    assert read_trace(path).tolist() == IDS.tolist()


def test_ids_that_are_not_integers_are_numbered_by_first_appearance(tmp_path):
    path = write(tmp_path, "keys.txt", b"b\na\nb\nc\n")
    assert read_trace(path).tolist() == [0, 1, 0, 2]


def test_csv_by_column_index_or_header_name(tmp_path):
    body = "time,obj\n1,5\n2,3\n3,5\n"
    path = write(tmp_path, "t.csv", body.encode())
    assert read_trace(path, column=1).tolist() == [5, 3, 5]
    assert read_trace(path, column="obj").tolist() == [5, 3, 5]
    with pytest.raises(TraceError, match="no column 'key'"):
        read_trace(path, column="key")


@pytest.mark.parametrize("fmt, dtype", [("u32le", "<u4"), ("u32be", ">u4"), ("u64le", "<u8"), ("u64be", ">u8")])
def test_raw_integers_in_each_width_and_byte_order(tmp_path, fmt, dtype):
    ids = IDS if np.dtype(dtype).itemsize == 8 else IDS % (1 << 32)
    path = write(tmp_path, "t.bin", ids.astype(dtype).tobytes())
    assert read_trace(path, fmt).tolist() == ids.tolist()
    with pytest.raises(TraceError, match="--format"):
        read_trace(path)  # a .bin says neither width nor order


def test_npy(tmp_path):
    buf = io.BytesIO()
    np.save(buf, IDS.astype(np.uint32))
    assert read_trace(write(tmp_path, "t.npy", buf.getvalue())).tolist() == (IDS.astype(np.uint32)).tolist()


@pytest.mark.parametrize("suffix, compress", [(".gz", gzip.compress), (".xz", lzma.compress)])
def test_compressed_files_are_read_directly(tmp_path, suffix, compress):
    path = write(tmp_path, "t.txt" + suffix, compress(b"5\n3\n5\n"))
    assert read_trace(path).tolist() == [5, 3, 5]


def test_zstd_when_the_package_is_there(tmp_path):
    zstandard = pytest.importorskip("zstandard")
    path = write(tmp_path, "t.csv.zst", zstandard.ZstdCompressor().compress(b"obj\n5\n3\n"))
    assert read_trace(path).tolist() == [5, 3]


@pytest.mark.parametrize(
    "name, data, fmt, message",
    [
        ("missing.txt", None, "auto", "No such file"),
        ("t.txt.gz", b"not gzip", "auto", "not a valid gz file"),
        ("t.bin", b"\x00\x01\x02", "u32le", "not a whole number of 4-byte ids"),
        ("t.txt", b"\xff\xfe\x00", "auto", "not a text trace"),
        ("t.txt", b"1\n", "parquet", "unknown trace format"),
    ],
)
def test_errors_name_the_file(tmp_path, name, data, fmt, message):
    path = tmp_path / name if data is None else write(tmp_path, name, data)
    with pytest.raises(TraceError, match=message) as info:
        read_trace(path, fmt)
    assert str(path) in str(info.value)


def test_lis_lines_stand_for_runs_of_consecutive_pages(tmp_path):
    path = write(tmp_path, "t.lis", b"100 3 0 0\n7 1 0 1\n100 2 0 2\n")
    assert read_trace(path).tolist() == [100, 101, 102, 7, 100, 101]
    with pytest.raises(TraceError, match="request 1 is not"):
        read_trace(write(tmp_path, "bad.lis", b"100\n"))


def test_a_text_line_is_its_first_field(tmp_path):
    assert read_trace(write(tmp_path, "t.txt", b"5 read\n3 write\n")).tolist() == [5, 3]
