"""The machine's load while a benchmark phase runs: the figures are only as good as the machine was quiet."""
from __future__ import annotations

import threading


class LoadSampler:
    """The 1-minute load average every 2 s while a run lasts."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with open("/proc/loadavg") as handle:
                self.samples.append(float(handle.read().split()[0]))
            self._stop.wait(2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict:
        s = self.samples or [0.0]
        return {"load_mean": round(sum(s) / len(s), 1), "load_max": round(max(s), 1)}
