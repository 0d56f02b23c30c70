"""Inference and training precision: float32, or bfloat16 convolutions where the CPU computes them.

Under Keras' ``mixed_bfloat16`` policy the networks' inner convolution stacks compute in bfloat16
with float32 variables, while the curve, residual sums and outputs stay float32 layers (see
:class:`~singlehdr_tf.models.SingleHDR`). CPUs with AVX512-BF16 or AMX run such convolutions about
twice as fast as float32 (oneDNN); elsewhere bfloat16 is emulated and slower, so ``"auto"`` picks
it only where the instructions exist.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator

import keras

from singlehdr_tf.errors import SingleHDRError

PRECISIONS = ("float32", "bfloat16", "auto")
"""What :func:`singlehdr_tf.load` accepts as ``precision``."""

POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}
"""Keras dtype policy of each resolved precision."""

BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")

_LOG = logging.getLogger("singlehdr_tf")


@functools.lru_cache(maxsize=1)
def cpu_has_bfloat16() -> bool:
    """Whether this CPU has bfloat16 matrix instructions (Linux ``/proc/cpuinfo`` flags; False
    where it cannot tell)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            flags = next((line.split(":", 1)[1].split() for line in cpuinfo if line.startswith("flags")), [])
    except OSError:
        return False
    return any(flag in flags for flag in BFLOAT16_CPU_FLAGS)


def resolve_precision(precision: str) -> str:
    """``"float32"`` or ``"bfloat16"`` for ``precision`` (one of :data:`PRECISIONS`); ``"auto"`` is
    bfloat16 on a CPU with bfloat16 instructions and float32 otherwise, and logs its choice."""
    if precision not in PRECISIONS:
        raise SingleHDRError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    chosen = "bfloat16" if cpu_has_bfloat16() else "float32"
    _LOG.info("precision auto: %s (CPU bfloat16 instructions %s)", chosen, "found" if chosen == "bfloat16" else "not found")
    return chosen


@contextlib.contextmanager
def dtype_policy(policy: str) -> Iterator[None]:
    """Keras' global dtype policy set to ``policy`` (``"float32"``, ``"mixed_bfloat16"``) inside the
    block and restored after it: layers take the policy when they are built, so this sets it for
    the models built inside, not for the process."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
