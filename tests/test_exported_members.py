"""The public surface is exactly what we mean to export."""

from __future__ import annotations

import importlib

import pytest

EXPECTED = {
    "shared.logging_config": {
        "LoggingStats", "flush_logging", "init_rollout_logging", "logging_stats",
        "pool_logging", "ray_runtime_env", "setup_logging", "shutdown_logging",
    },
    "shared.json_formatter": {"JSONFormatter"},
    "shared.logging_context": {
        "bind_context", "clear_context", "get_context", "log_context", "reset_context",
    },
}  # fmt: skip


@pytest.mark.parametrize("module_name", sorted(EXPECTED))
def test_all_is_pinned(module_name: str) -> None:
    """Each public module's __all__ is exactly the documented names, all defined."""
    module = importlib.import_module(module_name)
    assert set(module.__all__) == EXPECTED[module_name]
    for name in module.__all__:
        assert getattr(module, name).__module__ == module_name


def test_shared_is_a_namespace_package() -> None:
    """`shared` has no __init__.py, so other shared.* modules can live beside ours."""
    shared = importlib.import_module("shared")
    assert getattr(shared, "__file__", None) is None
    assert len(list(shared.__path__)) >= 1
