"""udd-keras benchmarks: `python -m benchmarks list`, `python -m benchmarks run NAME`.

Experiments are specs in `benchmarks/experiments/` (`benchmarks/spec.py`);
`benchmarks/accuracy.py` and `benchmarks/timing.py` run them and
`benchmarks/results.py` writes `benchmarks/results/<experiment>/`.
"""
