"""This machine's CPU as ``/proc/cpuinfo`` describes it: its model (for a chapter's banner and an edition's
manifest) and its feature flags (which kernels the portable numeric mode pins, whether bf16 is native).
Imports nothing heavy, so that the portable mode can ask before torch loads."""
from __future__ import annotations

import platform


def cpuinfo(field: str) -> str | None:
    """The value of the first ``field`` line of ``/proc/cpuinfo`` (None where there is no such file or line)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(field):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_flags() -> set:
    """The CPU's feature flags (empty where ``/proc/cpuinfo`` does not say)."""
    return set((cpuinfo("flags") or "").split())


def cpu_model() -> str:
    """The CPU's model name, or what :mod:`platform` knows where ``/proc/cpuinfo`` does not say."""
    return cpuinfo("model name") or platform.processor() or platform.machine()
