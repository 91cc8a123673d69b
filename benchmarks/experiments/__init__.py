"""One module per experiment, each defining `EXPERIMENT` (`benchmarks.spec`)."""
