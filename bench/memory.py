"""Resident memory of this process, for the benchmarks (MiB)."""

from __future__ import annotations

import resource


def rss_mib() -> float:
    """Current resident set size (Linux /proc), NaN where that is not available."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def peak_rss_mib() -> float:
    """Largest resident set size this process has had (``ru_maxrss``, KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
