"""Unit tests for qorch.engine.inputfile: a user-named file is read only if it is a regular
file within its size limit, without ever blocking (end to end in test_plan_limits.py)."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from qorch.engine.inputfile import InputFileError, bad_utf8_line, read_regular_file

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, sockets and /dev")


def refused(path: Path | str, max_bytes: int = 100) -> InputFileError:
    with pytest.raises(InputFileError) as caught:
        read_regular_file(path, max_bytes)
    return caught.value


def test_a_regular_file_within_the_limit_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_bytes(b"version: 1\n" * 9)
    assert read_regular_file(path, 99) == b"version: 1\n" * 9
    assert read_regular_file(str(path), 99) == path.read_bytes()
    (tmp_path / "empty").write_bytes(b"")
    assert read_regular_file(tmp_path / "empty", 0) == b""


def test_missing_is_flagged_as_missing(tmp_path: Path) -> None:
    error = refused(tmp_path / "nope.yaml")
    assert error.missing and str(error) == "not found" == error.reason


def test_too_large_names_size_and_limit(tmp_path: Path) -> None:
    path = tmp_path / "big"
    path.write_bytes(b"x" * 2049)
    error = refused(path, 2048)
    assert not error.missing
    assert str(error) == "the file is 2049 bytes; the limit is 2048 bytes (2 KiB)"
    path.write_bytes(b"x" * (1 << 20) + b"x")
    assert str(refused(path, 1 << 20)).endswith("the limit is 1048576 bytes (1 MiB)")
    assert str(refused(path, 10)).endswith("the limit is 10 bytes (10 B)")


def test_a_directory_is_not_a_regular_file(tmp_path: Path) -> None:
    assert str(refused(tmp_path)) == "not a regular file (a directory)"


@posix_only
def test_a_fifo_is_refused_at_once_without_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.yaml"
    os.mkfifo(fifo)
    assert str(refused(fifo)) == "not a regular file (a FIFO)"


@posix_only
def test_devices_and_sockets_are_refused(tmp_path: Path) -> None:
    assert str(refused("/dev/zero")) == "not a regular file (a character device)"
    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        error = refused(path)
    # opening a socket fails (ENXIO) on Linux before fstat can name it
    assert str(error) in ("not a regular file (a socket)", "no such device or address")


@posix_only
def test_a_symlink_loop_and_a_nul_byte_are_one_line_reasons(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(tmp_path / "loop")
    assert str(refused(loop)) == "too many levels of symbolic links"
    assert "NUL character" in str(refused(str(tmp_path / "a\0b")))


@posix_only
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads anything")
def test_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text("x")
    path.chmod(0)
    assert str(refused(path)) == "permission denied"


def test_bad_utf8_line_counts_from_one() -> None:
    data = b"a: 1\nb: 2\nc: " + b"\xff\n"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        assert bad_utf8_line(data, error) == 3
    first = b"\xfe"
    try:
        first.decode("utf-8")
    except UnicodeDecodeError as error:
        assert bad_utf8_line(first, error) == 1
