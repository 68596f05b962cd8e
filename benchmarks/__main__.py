"""Run the benchmarks: ``python -m benchmarks [--only NAME ...] [--json PATH] [--list]``.

Every ``benchmarks/bench_<name>.py`` module is run in name order; each prints its own table.
A benchmark that crashes is reported and the others still run; the exit status is then 1.
"""
from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
import traceback
from pathlib import Path

import benchmarks


def available():
    """Names of the benchmark modules, without the ``bench_`` prefix, in order."""
    return sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules(benchmarks.__path__)
                  if m.name.startswith("bench_"))


def main(argv=None):
    names = available()
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="Run efficientnn's benchmarks; each prints a table.")
    parser.add_argument("--only", nargs="+", choices=names, metavar="NAME",
                        help=f"run only these benchmarks (of: {', '.join(names)})")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every result to this JSON file")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(names))
        return 0

    results, failed = {}, []
    for name in args.only or names:
        print(f"\n=== {name} ===", flush=True)
        start = time.perf_counter()
        try:
            results[name] = importlib.import_module(f"benchmarks.bench_{name}").main()
        except Exception:  # one broken benchmark should not hide the others' numbers
            traceback.print_exc()
            failed.append(name)
            results[name] = {"error": traceback.format_exc()}
        print(f"({name}: {time.perf_counter() - start:.1f} s)", flush=True)

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))
        print(f"\nresults written to {args.json}")
    if failed:
        print(f"\nFAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
