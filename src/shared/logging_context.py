"""Fields that follow the task: every record logged inside carries them.

Built on one :class:`contextvars.ContextVar` that holds an immutable dict.
Binding makes a new mapping, so capturing the context at log-call time is a
single ``ContextVar.get()`` and the writer thread can read it later without a
copy or a lock. Each asyncio task and each trio task runs in its own copy of
the context, so tasks never see each other's fields. A thread started with
``contextvars.copy_context().run`` sees the fields of the code that started it.

    from shared.logging_context import log_context

    async def rollout(rollout_id: int) -> None:
        with log_context(rollout_id=rollout_id):
            logger.info("started")   # {"rollout_id": 7, "message": "started", ...}
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, NoReturn, ParamSpec, TypeVar, overload

__all__ = ["bind_context", "clear_context", "get_context", "log_context", "reset_context"]


class BoundFields(dict[str, object]):
    """The fields bound in a context: a dict that refuses changes.

    Binding makes a new one, so a record keeps the one it captured without a
    copy, and the writer reads it as the plain dict it is (the C writer with
    the dict API, no private layout).
    """

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("bound context fields do not change: use bind_context or log_context")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[type[BoundFields], tuple[dict[str, object]]]:
        # copy and pickle rebuild a dict subclass item by item, which __setitem__ refuses.
        return BoundFields, (dict(self),)


_EMPTY: Mapping[str, object] = BoundFields()
_fields: ContextVar[Mapping[str, object]] = ContextVar("shared_logging_context", default=_EMPTY)

P = ParamSpec("P")
R = TypeVar("R")

ContextToken = Token[Mapping[str, object]]


def get_context() -> dict[str, object]:
    """A copy of the fields bound in the current context."""
    return dict(_fields.get())


#: The bound fields themselves, read-only: what a log call captures (one C call).
current_fields = _fields.get


def bind_context(**fields: object) -> ContextToken:
    """Add ``fields`` to the current context; undo with :func:`reset_context`."""
    merged = {**_fields.get(), **fields}
    return _fields.set(BoundFields(merged))


def reset_context(token: ContextToken) -> None:
    """Put the context back as it was before the :func:`bind_context` that made ``token``."""
    _fields.reset(token)


def clear_context() -> None:
    """Remove every bound field from the current context."""
    _fields.set(_EMPTY)


class log_context:
    """Bind fields for a block (``with``/``async with``) or a function (decorator).

    As a decorator it works on sync and ``async def`` functions; each call
    binds on entry and resets on exit, so concurrent calls do not interfere.
    """

    def __init__(self, **fields: object) -> None:
        self._fields = fields
        # The tokens of open ``with`` blocks, per context (thread or task), not on
        # the instance: one instance may be entered by many tasks at once, and
        # a token can only be reset in the context that made it.
        self._open: ContextVar[tuple[ContextToken, ...]] = ContextVar(
            "shared_logging_open_blocks", default=()
        )

    def __enter__(self) -> dict[str, object]:
        token = bind_context(**self._fields)
        self._open.set((*self._open.get(), token))
        return get_context()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        *outer, token = self._open.get()
        self._open.set(tuple(outer))
        reset_context(token)

    async def __aenter__(self) -> dict[str, object]:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    @overload
    def __call__(self, func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]: ...
    @overload
    def __call__(self, func: Callable[P, R]) -> Callable[P, R]: ...
    def __call__(self, func: Callable[P, Any]) -> Callable[P, Any]:
        fields = self._fields
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                token = bind_context(**fields)
                try:
                    return await func(*args, **kwargs)
                finally:
                    reset_context(token)

            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            token = bind_context(**fields)
            try:
                return func(*args, **kwargs)
            finally:
                reset_context(token)

        return wrapper
