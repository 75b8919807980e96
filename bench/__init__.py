"""graphwright benchmarks: each script measures a ratio against a baseline run in the same
process and records its results, with the machine described, under ``bench/results``."""
