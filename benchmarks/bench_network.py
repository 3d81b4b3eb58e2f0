"""How fast a run with many hosts simulates under a SYN flood: prints figures, asserts nothing.

    .venv/bin/python benchmarks/bench_network.py

The lesson's flood: 1,000 forged SYNs per second for 60 s against one listener with
listen(backlog=4096) (the SYN queue then holds thousands of half-open connections), SYN cookies on
and off, while 10 legitimate clients connect, send and close. For each: the time to simulate, the
transmissions, the cost per transmission, and that cost against the cost per transmission of the
lossless two-endpoint lifecycle measured in the same run. A host with thousands of half-open
connections should not pay much more per segment than one with a single connection (goal: 1.5x).
Each figure is the median of a few repeats.
"""
from __future__ import annotations

import statistics
import time

import tcplesson as tl

BACKLOG = 4096
REPEATS = 3


def flood_network(cookies: int) -> tl.Network:
    return tl.Network("bench", tl.Server(backlog=BACKLOG, sysctls=dict(tcp_syncookies=cookies)),
                      tl.clients(10, start=1, every=6), tl.Flood(1000, start=0.5, duration=60))


def lifecycle_cost(seconds: float = 1.0) -> float:
    """Seconds per transmission of the lossless lifecycle (median of REPEATS rounds)."""
    per_tx = []
    for _ in range(REPEATS):
        runs, transmissions, start = 0, 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            transmissions += len(tl.simulate("lifecycle").transmissions)
            runs += 1
        per_tx.append((time.perf_counter() - start) / transmissions)
    return statistics.median(per_tx)


def flood_run(cookies: int) -> tuple[float, int, tl.NetworkTrace]:
    """(median seconds to simulate, transmissions, the last trace)."""
    net = flood_network(cookies)
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        trace = tl.simulate(net)
        times.append(time.perf_counter() - start)
    return statistics.median(times), len(trace.transmissions), trace


def main() -> None:
    base = lifecycle_cost()
    print(f"lossless lifecycle: {base * 1e6:.1f} us per transmission")
    print(f"flood: 1,000 SYNs/s for 60 s, listen(backlog={BACKLOG}), 10 clients; median of {REPEATS} runs")
    for cookies in (1, 0):
        seconds, n, trace = flood_run(cookies)
        cost = seconds / n
        connected = sum(1 for row in trace.connect_times() if row["connected"] is not None)
        peak = max(syn for _, syn, _ in trace.queues[("server", 80)])
        print(f"  tcp_syncookies={cookies}: {seconds:6.2f} s, {n:,} transmissions, {cost * 1e6:5.1f} us each, "
              f"{cost / base:.2f}x the lifecycle's (goal <= 1.5x); "
              f"SYN queue peak {peak}, {connected}/10 clients connected")


if __name__ == "__main__":
    main()
