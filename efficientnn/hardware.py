"""What this processor can do on paper: its theoretical float32 peak, from what the CPU reports.

A measured FLOPS (a numpy matrix product, an OpenVINO layer) is an *estimate* of the speed a
program reaches; another engine may beat it. The theoretical peak is a *bound*: no program
performs more float32 operations per second than

    cores x float32 lanes per vector x 2 (an FMA is a multiply and an add) x FMA units x clock.

Linux's ``/proc/cpuinfo`` tells the cores, the clock and the vector instructions (``avx512f``:
16 float32 lanes, ``avx2``: 8, ``sse``: 4) and whether fused multiply-add exists (``fma``); it does
not tell how many FMA units a core has (one or two on x86 cores), so the bound assumes two. The
reported clock is the nominal one: a core that runs faster (turbo) could exceed the figure, so it
is a bound at that clock.

Example
-------
>>> text = "processor : 0\\ncpu MHz : 2000.0\\nflags : fpu sse avx2 fma\\n"
>>> peak = cpu_peak(text)
>>> peak.lanes, peak.cores, peak.flops_per_second / 1e9
(8, 1, 64.0)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CpuPeak", "cpu_peak"]

#: float32 lanes per vector register, by the widest instruction set a CPU flag names.
_LANES = (("avx512f", 16), ("avx2", 8), ("avx", 8), ("sse", 4))


@dataclass(frozen=True)
class CpuPeak:
    """The theoretical float32 peak of a CPU and the figures it is made of.

    Attributes
    ----------
    cores : int, logical processors listed
    clock_hz : float, the reported (nominal) clock
    lanes : int, float32 values per vector instruction
    fma : bool, fused multiply-add available (2 FLOPs per lane per instruction; else 1)
    fma_units : int, vector FMA units assumed per core
    flops_per_second : float, cores x lanes x FLOPs per lane x fma_units x clock
    """

    cores: int
    clock_hz: float
    lanes: int
    fma: bool
    fma_units: int
    flops_per_second: float


def cpu_peak(cpuinfo: str | None = None, fma_units: int = 2) -> CpuPeak | None:
    """The theoretical float32 peak of this CPU, or None where the CPU does not report enough.

    Parameters
    ----------
    cpuinfo : str or None, the text of /proc/cpuinfo (None: read it; None is returned off Linux)
    fma_units : int, vector FMA units per core (not reported by the CPU; 2 on most recent x86 cores)

    Returns
    -------
    CpuPeak or None
    """
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        if not path.is_file():
            return None
        cpuinfo = path.read_text(errors="replace")
    cores = len(re.findall(r"^processor\s*:", cpuinfo, re.M))
    clock = re.search(r"^cpu MHz\s*:\s*([\d.]+)", cpuinfo, re.M)
    flags = re.search(r"^flags\s*:(.*)$", cpuinfo, re.M)
    if not (cores and clock and flags):
        return None
    names = set(flags.group(1).split())
    lanes = next((n for flag, n in _LANES if flag in names), None)
    if lanes is None:
        return None
    fma = "fma" in names
    clock_hz = float(clock.group(1)) * 1e6
    rate = cores * lanes * (2 if fma else 1) * fma_units * clock_hz
    return CpuPeak(cores, clock_hz, lanes, fma, fma_units, rate)
