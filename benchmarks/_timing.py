"""Timing shared by the speed benchmarks; imports neither TensorFlow nor PyTorch."""

import os
import statistics
import time


def measure(function, repeats, warmup):
    """Times `function()`; seconds of wall and process CPU time (all threads).

    `function` must finish its work before returning (fetch results to host).

    Returns:
        dict with `first` (the first call, tracing included), `median`, `min`,
        `cpu_median`, `load_average` (the 1-minute load while timing), `runs`
        and `cpu_runs` (every timed call).
    """

    def timed():
        start, cpu = time.perf_counter(), time.process_time()
        function()
        return time.perf_counter() - start, time.process_time() - cpu

    first = timed()[0]
    for _ in range(max(0, warmup - 1)):
        timed()
    load = os.getloadavg()[0]
    runs, cpu = zip(*[timed() for _ in range(max(1, repeats))], strict=True)
    return {
        "first": first,
        "median": statistics.median(runs),
        "min": min(runs),
        "cpu_median": statistics.median(cpu),
        "load_average": (load + os.getloadavg()[0]) / 2,
        "runs": list(runs),
        "cpu_runs": list(cpu),
    }
