"""How fast the core simulates: prints figures, asserts nothing (speed is not a test here).

    .venv/bin/python benchmarks/bench_core.py

1. Lossless `lifecycle` simulations per second in one process.
2. The same per-lifecycle time against a bare heapq loop that pushes and pops as many timed events
   as one lifecycle makes the simulator pop (the floor any event-driven simulator pays).
3. The cost per transmission as the work grows: a lifecycle that carries 10, 100 and 1,000 data
   segments; it should stay roughly flat (linear total cost).
"""
from __future__ import annotations

import heapq
import statistics
import time

import tcplesson as tl
from tcplesson import simulator


def per_second(fn, seconds: float = 2.0) -> float:
    """Calls per second of fn over about ``seconds`` (best of three rounds)."""
    best = 0.0
    for _ in range(3):
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 3:
            fn()
            n += 1
        best = max(best, n / (time.perf_counter() - start))
    return best


def popped_events(**kwargs) -> int:
    """How many timed events one simulation pops from its heap."""
    count = 0
    real_pop = simulator.heapq.heappop

    def counting_pop(heap):
        nonlocal count
        count += 1
        return real_pop(heap)

    simulator.heapq.heappop = counting_pop
    try:
        tl.simulate(**kwargs)
    finally:
        simulator.heapq.heappop = real_pop
    return count


def bare_heap_loop(n: int) -> None:
    heap: list = []
    for i in range(n):
        heapq.heappush(heap, (i * 0.05, i, None))
    while heap:
        heapq.heappop(heap)


def data_scenario(segments: int) -> tl.Scenario:
    return tl.Scenario(f"data-{segments}", [
        ("server", "listen", 0),
        ("client", "connect", 0),
        ("client", "send", "ESTABLISHED+0.1", b"x" * (1460 * segments)),
        ("client", "close", "ESTABLISHED+0.2"),
        ("server", "close", "CLOSE-WAIT+0.1"),
    ])


def main() -> None:
    lifecycle = dict(scenario="lifecycle", client_isn=100, server_isn=300)
    rate = per_second(lambda: tl.simulate(**lifecycle))
    events = popped_events(**lifecycle)
    floor = per_second(lambda: bare_heap_loop(events))
    print(f"lifecycle: {rate:,.0f} simulations/s ({1e6 / rate:.1f} us each; goal >= 20,000/s)")
    print(f"bare heapq loop of the same {events} events: {floor:,.0f}/s ({1e6 / floor:.1f} us each)")
    print(f"lifecycle / bare loop: {floor / rate:.1f}x (goal <= 10x)")
    print("cost per transmission as the work grows:")
    for segments in (10, 100, 1000):
        scenario = data_scenario(segments)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            trace = tl.simulate(scenario, mss=1460)
            times.append(time.perf_counter() - start)
        n = len(trace.transmissions)
        best = min(times)
        print(f"  {segments:>5} data segments: {n:>5} transmissions, {best * 1e3:8.2f} ms, "
              f"{best / n * 1e6:6.1f} us per transmission (median run {statistics.median(times) * 1e3:.2f} ms)")


if __name__ == "__main__":
    main()
