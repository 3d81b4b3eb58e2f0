"""How fast captures are written and read: prints figures, asserts nothing (speed is not a test here).

    .venv/bin/python benchmarks/bench_pcap.py

1. write_pcap of a lossless `lifecycle` (7 segments), files per second.
2. read_pcap of a shipped Linux capture (half-close, 9 segments), files per second.
3. read_pcap per segment as a connection grows: a half-close carrying 10, 100 and 1,000 data
   segments, written and read back; the cost per segment should stay roughly flat.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import tcplesson as tl
from bench_core import per_second  # this folder is on the path when a benchmark runs as a script

DATA = Path(__file__).resolve().parent.parent / "notebooks" / "data"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.pcap"
        trace = tl.simulate("lifecycle")
        print(f"write_pcap, lifecycle (7 segments): {per_second(lambda: tl.write_pcap(trace, out)):6.0f} files/s")
        shipped = DATA / "half-close.pcap"
        print(f"read_pcap, Linux half-close (9):   {per_second(lambda: tl.read_pcap(shipped)):8.0f} files/s")
        for n in (10, 100, 1000):
            steps = [("server", "listen", 0), ("client", "connect", 0),
                     ("client", "send", "ESTABLISHED+0.1", b"x" * 1460 * n), ("client", "close", "ESTABLISHED+60"),
                     ("server", "close", "CLOSE-WAIT+0.1")]
            big = tl.simulate(tl.Scenario(f"bulk-{n}", steps))
            path = tl.write_pcap(big, Path(tmp) / f"bulk{n}.pcap")
            start = time.perf_counter()
            got = tl.read_pcap(path, time_wait=big.params["time_wait"])[0]
            spent = time.perf_counter() - start
            assert not got.mismatches
            print(f"read_pcap, {len(got.transmissions):5d} segments:         "
                  f"{spent * 1e6 / len(got.transmissions):8.1f} us per segment")


if __name__ == "__main__":
    main()
