"""Racing requests: start calls at the same moment on their own threads, as many tills or buyers would."""

import threading
from concurrent.futures import ThreadPoolExecutor


def run_together(calls):
    """Start every call at the same moment, each on its own thread, and collect the responses."""
    barrier = threading.Barrier(len(calls))

    def start(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(start, calls))
