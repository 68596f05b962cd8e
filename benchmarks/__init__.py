"""Benchmarks for efficientnn: ``python -m benchmarks`` runs every ``bench_*.py`` module here.

Each module has ``run() -> dict`` (JSON-friendly numbers), ``format_results(dict) -> str`` and
``main()``, which prints the table and returns the dict. Times depend on the machine and on
whatever else it is running; the tables warn when the load average is high.
"""
