"""A quiet start: TensorFlow imported without the C++ and absl log lines it prints to stderr.

At import, TensorFlow's native libraries write absl's "WARNING: All log messages before
absl::InitializeLog() is called are written to STDERR" and ``I0000`` lines (oneDNN, CUDA drivers)
straight to file descriptor 2, where neither ``TF_CPP_MIN_LOG_LEVEL`` nor Python's ``sys.stderr``
reach them; later C++ logs, such as the ``E0000 ... failed call to cuInit ... UNKNOWN ERROR (303)``
line of every machine without a GPU, obey ``TF_CPP_MIN_LOG_LEVEL``. So :func:`import_tensorflow`
sets that to 3 (fatal errors only) and imports TensorFlow with descriptor 2 on ``/dev/null``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 (native code's stderr, and Python's) at ``/dev/null`` for the block,
    then restore it, also when the block raises (so its traceback is shown)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def import_tensorflow() -> None:
    """Import TensorFlow (a no-op once imported) with its start-up logs silenced and its later C++
    logs limited to fatal errors (unless ``TF_CPP_MIN_LOG_LEVEL`` is set already)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with stderr_silenced():
        import tensorflow  # noqa: F401
