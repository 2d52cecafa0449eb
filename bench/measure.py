"""Timing and memory helpers shared by the ledger figures: best-of-N seconds and peak resident memory."""

import cProfile
import io
import pstats
import re
import resource
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def best_of(runs: int, fn: Callable[[], object]) -> float:
    """The fastest of `runs` calls, in seconds: the run least disturbed by the rest of the machine."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def _status_kib(field: str) -> int:
    return int(re.search(rf"^{field}:\s+(\d+) kB", STATUS.read_text(), re.MULTILINE).group(1))


class PeakMemory:
    """How far resident memory rose above where it stood when the block began, in MiB.

    On Linux the kernel's high-water mark is reset at the start (clear_refs 5), so
    earlier phases (the data generation, the other figure) do not count. Elsewhere
    it falls back to ru_maxrss, a peak over the whole process's life.
    """

    def __init__(self):
        self.mib = 0.0

    @contextmanager
    def watch(self):
        try:
            CLEAR_REFS.write_text("5")
            start, peak = _status_kib("VmRSS"), lambda: _status_kib("VmHWM")
        except OSError:
            start, peak = 0, lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        yield self
        self.mib = (peak() - start) / 1024


def profile(fn: Callable[[], object], top: int = 12) -> str:
    """A cProfile summary of one call: the functions with the most cumulative time."""
    profiler = cProfile.Profile()
    profiler.runcall(fn)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative").print_stats(top)
    return out.getvalue()
