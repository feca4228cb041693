"""What the benchmarks that time whole commands share: a timing of wall-clock and CPU seconds."""

from __future__ import annotations

import resource
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """One command: wall-clock seconds, and CPU seconds of every process it ran (and waited for)."""

    wall: float
    cpu: float


def children_cpu() -> float:
    """CPU seconds (user and system) of every child process waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
