"""efficientnn.hardware: the theoretical peak from what /proc/cpuinfo reports."""
from pathlib import Path

import pytest

from efficientnn.hardware import cpu_peak

AVX512 = """processor : 0
cpu MHz : 2600.000
flags : fpu sse avx avx2 fma avx512f
processor : 1
cpu MHz : 2600.000
flags : fpu sse avx avx2 fma avx512f
"""


def test_peak_is_cores_lanes_fma_units_and_clock():
    peak = cpu_peak(AVX512)
    assert (peak.cores, peak.lanes, peak.fma, peak.fma_units) == (2, 16, True, 2)
    assert peak.flops_per_second == pytest.approx(2 * 16 * 2 * 2 * 2.6e9)
    assert cpu_peak(AVX512, fma_units=1).flops_per_second == pytest.approx(peak.flops_per_second / 2)


def test_narrower_vectors_and_no_fma():
    text = "processor : 0\ncpu MHz : 1000\nflags : fpu sse sse2\n"
    peak = cpu_peak(text)
    assert (peak.lanes, peak.fma) == (4, False)
    assert peak.flops_per_second == pytest.approx(4 * 1 * 2 * 1e9)


@pytest.mark.parametrize("text", ["", "processor : 0\nflags : avx2\n", "processor : 0\ncpu MHz : 10\nflags : neon\n"])
def test_none_when_the_cpu_does_not_say(text):
    assert cpu_peak(text) is None


def test_this_machine_is_read_when_linux_reports_it():
    if not Path("/proc/cpuinfo").is_file():
        pytest.skip("no /proc/cpuinfo here")
    peak = cpu_peak()
    if peak is not None:
        assert peak.cores >= 1 and peak.flops_per_second > 1e8
