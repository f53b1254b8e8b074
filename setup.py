"""The optional C extension; everything else about the package is in pyproject.toml.

``_speedups`` makes the writer thread's hot path cheaper (see its header). It is
optional twice over: a machine without a C compiler still installs the package
(``optional=True``), and ``SHARED_LOGGING_NO_EXTENSIONS=1`` skips the build.
Without it the same records are rendered by the Python path, byte for byte.
"""

import os

from setuptools import Extension, setup

extensions = []
if os.environ.get("SHARED_LOGGING_NO_EXTENSIONS", "") in ("", "0"):
    extensions.append(
        Extension(
            "shared._logging._speedups",
            ["src/shared/_logging/_speedups.c"],
            optional=True,
            extra_compile_args=["-O2", "-Wall", "-Wno-missing-braces"],
        )
    )

setup(ext_modules=extensions)
