"""The rotating writer's chunk plan: a pure function, proved on its own."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared._logging.files import plan_chunks


@given(
    lengths=st.lists(st.integers(min_value=1, max_value=300), max_size=60),
    size=st.integers(min_value=0, max_value=1000),
    max_bytes=st.integers(min_value=300, max_value=1000),
)
def test_every_line_once_in_order_and_no_file_past_the_bound(
    lengths: list[int], size: int, max_bytes: int
) -> None:
    """Chunks cover the lines once, in order; every file stays within max_bytes
    (a file already past it is rotated before anything is added)."""
    size = min(size, max_bytes)
    chunks = plan_chunks(lengths, size, max_bytes)
    covered = [i for _, start, end in chunks for i in range(start, end)]
    assert covered == list(range(len(lengths)))
    current = size
    for rotate, start, end in chunks:
        if rotate:
            current = 0
        current += sum(lengths[start:end])
        assert current <= max_bytes
        assert end > start


def test_a_line_bigger_than_a_file_goes_alone_into_an_empty_one() -> None:
    assert plan_chunks([50, 2000, 50], 900, 1000) == [(False, 0, 1), (True, 1, 2), (True, 2, 3)]


def test_the_common_case_is_one_chunk() -> None:
    assert plan_chunks([10, 10, 10], 0, 1000) == [(False, 0, 3)]
