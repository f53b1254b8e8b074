"""The rotating writer's chunk plan (a pure function, proved on its own), and the
lock-free turn of the synchronous path between writers sharing one file."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared._logging.files import RotatingJSONLWriter, plan_chunks
from shared._logging.turn import SOLO_WRITES, filesystem_type


@given(
    lengths=st.lists(st.integers(min_value=1, max_value=300), max_size=60),
    size=st.integers(min_value=0, max_value=1000),
    max_bytes=st.integers(min_value=600, max_value=1000),
    fresh=st.sampled_from([0, 0, 1, 256]),
)
def test_every_line_once_in_order_and_no_file_past_the_bound(
    lengths: list[int], size: int, max_bytes: int, fresh: int
) -> None:
    """Chunks cover the lines once, in order; every file stays within max_bytes
    (a file already past it is rotated before anything is added), a fresh file
    counted from the ``fresh`` bytes its notice takes (keep_first)."""
    size = min(size, max_bytes)
    chunks = plan_chunks(lengths, size, max_bytes, fresh)
    covered = [i for _, start, end in chunks for i in range(start, end)]
    assert covered == list(range(len(lengths)))
    current = size
    for rotate, start, end in chunks:
        if rotate:
            current = fresh
        current += sum(lengths[start:end])
        assert current <= max_bytes
        assert end > start


def test_a_line_bigger_than_a_file_goes_alone_into_an_empty_one() -> None:
    assert plan_chunks([50, 2000, 50], 900, 1000) == [(False, 0, 1), (True, 1, 2), (True, 2, 3)]


def test_the_common_case_is_one_chunk() -> None:
    assert plan_chunks([10, 10, 10], 0, 1000) == [(False, 0, 3)]


# --- the synchronous path's lock-free turn ----------------------------------------------


def _lines_of(directory: Path) -> list[bytes]:
    return [
        line
        for f in sorted(directory.iterdir())
        if f.name.startswith("app.jsonl")
        for line in f.read_bytes().splitlines(keepends=True)
    ]


@given(order=st.lists(st.integers(min_value=0, max_value=2), min_size=100, max_size=400))
@settings(max_examples=25, deadline=None)
def test_writers_taking_turns_never_pass_the_bound_nor_split_a_line(order: list[int]) -> None:
    """Three writers on one file (each with its own descriptors, as three processes
    have), writing single lines in any interleaving with rotations: every line
    once and whole, every file within max_bytes, each writer's lines in order."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "app.jsonl"
        writers = [RotatingJSONLWriter(path, 2_000, 1_000) for _ in range(3)]
        sent: list[list[bytes]] = [[], [], []]
        for n, who in enumerate(order):
            line = b'{"w":%d,"n":%d,"pad":"%s"}\n' % (who, n, b"x" * (n % 97))
            writers[who].write_line(line)
            sent[who].append(line)
        for writer in writers:
            writer.close()
        files = [f for f in Path(directory).iterdir() if f.name.startswith("app.jsonl")]
        assert all(f.stat().st_size <= 2_000 for f in files)
        found = _lines_of(Path(directory))
        assert sorted(found) == sorted(line for lines in sent for line in lines)
        oldest_first = sorted(files, key=lambda f: -int(f.name[len("app.jsonl.") :] or 0))
        in_time_order = [
            line for f in oldest_first for line in f.read_bytes().splitlines(keepends=True)
        ]
        for who in range(3):
            mine = b'{"w":%d,' % who
            assert [line for line in in_time_order if line.startswith(mine)] == sent[who]


def test_a_writer_alone_skips_the_lock_until_another_process_writes(tmp_path: Path) -> None:
    """Alone, a writer appends without the lock after its first SOLO_WRITES locked
    writes; once another writer (another process: its own descriptors) writes the
    file, both lock every write for good."""
    if filesystem_type(tmp_path / "app.jsonl") not in ("ext4", "xfs", "btrfs", "tmpfs", "overlay"):
        pytest.skip("the lock-free path is only used on local filesystems")
    first = RotatingJSONLWriter(tmp_path / "app.jsonl", 100_000, 1)
    second = RotatingJSONLWriter(tmp_path / "app.jsonl", 100_000, 1)
    try:
        assert first._turn is not None
        assert second._turn is not None
        for n in range(SOLO_WRITES):
            assert not first._turn.ours()
            first.write_line(b"%d\n" % n)  # locked: no other process seen yet
        assert first._turn.ours()
        first.write_line(b"unlocked\n")
        second.write_line(b"second\n")  # locked: its first write
        assert not first._turn.ours()
        first.write_line(b"first again\n")  # locked, and it sees the other's stamp
        assert first._turn.shared
        second.write_line(b"second again\n")
        assert second._turn.shared
        for writer in (first, second):
            for _ in range(SOLO_WRITES):
                writer.write_line(b"x\n")
            assert not writer._turn.ours()
    finally:
        first.close()
        second.close()
    lines = (tmp_path / "app.jsonl").read_bytes().splitlines()
    assert lines[SOLO_WRITES : SOLO_WRITES + 4] == [
        b"unlocked",
        b"second",
        b"first again",
        b"second again",
    ]


def test_the_filesystem_of_a_path_is_found(tmp_path: Path) -> None:
    assert filesystem_type(tmp_path / "app.jsonl") != ""
    assert filesystem_type(Path("/proc/self/x")) == "proc"
