from collections.abc import Callable, Sequence
from typing import Any

def lines(records: Sequence[Any], settings: tuple[Any, ...], /) -> list[bytes | None]: ...
def configure(
    not_extra: frozenset[str],
    reserved: frozenset[str],
    first_extra: int,
    last_own: str,
    captured: tuple[str, str, str],
    document_keys: tuple[str, ...],
    redacted: str,
    rename: Callable[[list[tuple[str, object]]], dict[str, object]],
    /,
) -> None: ...
