"""The apparatus the Linux capture tools share: a namespace, tcpdump, ss, nstat, sysctl.

A capture tool (tcplesson.queue_capture, tcplesson.socket_capture) runs each experiment in a
network namespace of its own, so that the per-namespace sysctls it sets and the sockets it leaves
behind (TIME-WAIT among them) touch nothing outside; ``in_namespace`` creates the namespace, runs
the tool's module again inside it and deletes it afterwards, also on errors. Inside, ``Lab``
records every command it runs and every event with the wall-clock time, runs tcpdump on ``lo``
between two UDP marker datagrams (so that the capture is known to be running and complete), reads
``nstat`` counters and sysctls; ``finish`` makes the times relative to the first TCP segment and
writes NAME.pcap (TCP only) and NAME.json.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, NamedTuple

import dpkt

HOST = "127.0.0.1"
WAIT = 10.0
POLL = 0.005
TOOLS = (("ip", "iproute2"), ("ss", "iproute2"), ("nstat", "iproute2"), ("nft", "nftables"),
         ("tcpdump", "tcpdump"), ("sysctl", "procps"))


class LabError(RuntimeError):
    """The experiment cannot run here, or the kernel did not do what it was set up to show."""


def missing(purpose: str, tools=TOOLS) -> str | None:
    """Why ``purpose`` cannot run on this machine (not root, a tool missing), or None."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append("root (namespaces, nftables and tcpdump need it)")
    for tool, package in tools:
        if shutil.which(tool) is None:
            reasons.append(f"{tool} (Debian package {package})")
    if not reasons and subprocess.run(["ip", "netns", "list"], capture_output=True).returncode != 0:
        reasons.append("network namespaces (`ip netns list` fails)")
    return f"{purpose} need " + " and ".join(reasons) if reasons else None


class Experiment(NamedTuple):
    """One experiment: the sysctls it sets in its namespace and the script that runs inside it."""

    name: str
    description: str
    sysctls: dict
    script: Callable


def pick(experiments: dict, name) -> Experiment:
    """The experiment called ``name`` among ``experiments``."""
    if not isinstance(name, str):
        raise TypeError(f"the experiment name must be a string, got {type(name).__name__}")
    if name not in experiments:
        raise ValueError(f"unknown experiment {name!r}; choose one of: {', '.join(experiments)}")
    return experiments[name]


class Tool(NamedTuple):
    """A capture tool: its module, namespace prefix, experiments, error class and ``missing()``."""

    module: str
    prefix: str
    experiments: dict
    error: type
    missing: Callable

    def experiment(self, name) -> "Experiment":
        """The experiment called ``name`` (one of this tool's experiments)."""
        return pick(self.experiments, name)

    def capture(self, name, out_dir) -> dict:
        """Run one experiment in a fresh network namespace; write NAME.pcap and NAME.json into ``out_dir``."""
        return capture(self, name, out_dir)


def capture(tool: Tool, name, out_dir) -> dict:
    """Run one experiment of ``tool`` in a fresh network namespace; NAME.pcap and NAME.json go into
    ``out_dir``; the record is returned."""
    exp = pick(tool.experiments, name)
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a directory name, got {type(out_dir).__name__}")
    reason = tool.missing()
    if reason:
        raise tool.error(reason)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    in_namespace(f"{tool.prefix}{os.getpid()}", tool.module, exp.name, out, tool.error)
    return json.loads((out / f"{exp.name}.json").read_text())


def main(tool: Tool, argv, doc: str, default_out: str, inside: Callable, summary: Callable) -> int:
    """The command line of a capture tool: run the experiments named (default: all), or, with
    ``--inside NAME``, one experiment in the namespace it is already in."""
    parser = argparse.ArgumentParser(prog=f"python -m {tool.module}", description=doc.split("\n\n")[0])
    parser.add_argument("experiments", nargs="*", metavar="NAME",
                        help=f"which to run (default: all): {', '.join(tool.experiments)}")
    parser.add_argument("--out", default=default_out,
                        help=f"directory for NAME.pcap and NAME.json (default: {default_out})")
    parser.add_argument("--inside", metavar="NAME", help=argparse.SUPPRESS)  # run by capture() in the namespace
    args = parser.parse_args(argv)
    if args.inside:
        inside(pick(tool.experiments, args.inside).name, Path(args.out))
        return 0
    names = args.experiments or list(tool.experiments)
    for name in names:
        if name not in tool.experiments:
            parser.error(f"unknown experiment {name!r}; choose from: {', '.join(tool.experiments)}")
    reason = tool.missing()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    for name in names:
        print(f"{name}: {summary(capture(tool, name, args.out))}")
    return 0


def observe(lab: "Lab", exp: Experiment, sysctl_names, counter_names, at_end: Callable = lambda: None) -> dict:
    """Set the sysctls, start tcpdump, read the counters, run the script, read them again, call
    ``at_end``, stop tcpdump; ``lab.close()`` in any case. Returns what the record needs and the pcap."""
    try:
        sysctls = lab.sysctl(exp.sysctls, sysctl_names)
        tcpdump_cmd = lab.start_tcpdump()
        before = lab.counters(counter_names)
        exp.script(lab)
        after = lab.counters(counter_names)
        end = at_end()
        lab.stop_tcpdump()
    finally:
        lab.close()
    return dict(sysctls=sysctls, tcpdump=tcpdump_cmd, end=end, data=lab.raw.read_bytes(),
                counters=dict(before=before, after=after, delta={k: after[k] - before[k] for k in counter_names}))


def scratch(prefix: str):
    """A temporary directory for the raw capture (removed afterwards)."""
    return tempfile.TemporaryDirectory(prefix=prefix)


def in_namespace(ns: str, module: str, name: str, out: Path, error=LabError, timeout: float = 60):
    """Run ``python -m module --inside name --out out`` in a fresh namespace ``ns`` with lo up."""
    subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True, timeout=WAIT)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True,
                       capture_output=True, timeout=WAIT)
        inner = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m", module,
                                "--inside", name, "--out", str(out)],
                               capture_output=True, text=True, timeout=timeout)
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=WAIT)
    if inner.returncode != 0:
        raise error(f"{name} failed inside the namespace:\n{inner.stderr.strip()}")


class Lab:
    """Commands, events, tcpdump, counters and sysctls of one experiment, with wall-clock times."""

    def __init__(self, raw: Path, markers: tuple[bytes, bytes], error=LabError) -> None:
        self.raw, self.markers, self.error = raw, markers, error
        self.commands: list[dict] = []
        self.events: list[dict] = []
        self.snapshots: list[dict] = []
        self.tcpdump: subprocess.Popen | None = None

    def run(self, cmd: list[str], check: bool = True) -> str:
        start = time.time()
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=WAIT)
        self.commands.append(dict(at=start, cmd=cmd))
        if check and result.returncode != 0:
            raise self.error(f"{' '.join(cmd)} failed: {result.stderr.strip()}")
        return result.stdout

    def event(self, what: str, **info) -> None:
        self.events.append(dict(at=time.time(), what=what, **info))

    def pause(self, seconds: float) -> None:
        time.sleep(seconds)

    def counters(self, names) -> dict:
        """The ``nstat -asz`` values of ``names`` (absolute, this namespace's)."""
        text = self.run(["nstat", "-asz", *names])
        values = dict.fromkeys(names, 0)
        for line in text.splitlines():
            fields = line.split()
            if fields and fields[0] in values:
                values[fields[0]] = int(fields[1])
        return values

    def sysctl(self, settings: dict, names) -> dict:
        """Set ``settings``, then read ``names`` back (ints where the value is one number)."""
        for key, value in settings.items():
            self.run(["sysctl", "-w", f"{key}={value}"])
        text = self.run(["sysctl", *names])
        out = {}
        for line in text.splitlines():
            if " = " in line:
                key, value = line.split(" = ", 1)
                out[key] = int(value) if value.strip().lstrip("-").isdigit() else " ".join(value.split())
        return out

    # tcpdump with start and end markers, as in tcplesson.capture
    def start_tcpdump(self) -> list[str]:
        cmd = ["tcpdump", "-i", "lo", "-nn", "-U", "--immediate-mode", "-Z", "root", "-w", str(self.raw),
               "tcp or udp port 9"]
        self.tcpdump = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ready, _, _ = select.select([self.tcpdump.stderr], [], [], WAIT)
        line = self.tcpdump.stderr.readline().decode(errors="replace") if ready else ""
        if "listening on" not in line:
            raise self.error(f"tcpdump did not start: {line.strip() or 'no answer'}")
        self.mark(self.markers[0])
        return [a if a != str(self.raw) else "raw.pcap" for a in cmd]

    def stop_tcpdump(self) -> None:
        self.mark(self.markers[1])
        self.tcpdump.terminate()
        self.tcpdump.wait(timeout=WAIT)

    def mark(self, text: bytes) -> None:
        """Send a UDP datagram to port 9 and wait until tcpdump has written it (and all before it)."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(text, (HOST, 9))
        deadline = time.monotonic() + WAIT
        while not (self.raw.exists() and text in self.raw.read_bytes()):
            if time.monotonic() > deadline:
                raise self.error(f"tcpdump did not record the {text.decode()!r} marker")
            time.sleep(POLL)

    def close(self) -> None:
        self.close_tcpdump()

    def close_tcpdump(self) -> None:
        if self.tcpdump is not None:
            if self.tcpdump.poll() is None:
                self.tcpdump.terminate()
                self.tcpdump.wait(timeout=WAIT)
            self.tcpdump.stderr.close()


def finish(lab: Lab, data: bytes, head: dict, tail: dict, out_dir: Path) -> dict:
    """Times relative to the first TCP segment; write NAME.pcap (TCP only) and NAME.json.

    The JSON is ``head`` (its "experiment" names the files), then commands, events and snapshots,
    then ``tail``."""
    t0 = first_tcp_time(data, lab.error)
    for item in lab.commands + lab.events + lab.snapshots:
        item["at"] = round(item["at"] - t0, 6)
    record = dict(head, commands=lab.commands, events=lab.events, snapshots=lab.snapshots, **tail)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{record['experiment']}.pcap").write_bytes(tcp_only(data))
    (out_dir / f"{record['experiment']}.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


def shipped(where, name: str, maker: str) -> tuple[dict, bytes]:
    """An experiment's JSON record and pcap bytes as ``maker`` (a capture module) wrote them in ``where``."""
    if not isinstance(where, (str, Path)):
        raise TypeError(f"where must be a directory name, got {type(where).__name__}")
    where = Path(where)
    if not (where / f"{name}.json").is_file() or not (where / f"{name}.pcap").is_file():
        raise FileNotFoundError(f"{where} has no {name}.json and {name}.pcap (made by {maker})")
    return json.loads((where / f"{name}.json").read_text()), (where / f"{name}.pcap").read_bytes()


def ss_rows(text: str) -> list[dict]:
    """The rows of ``ss -tan`` or ``ss -ltn``: state, recv_q, send_q, local, peer."""
    rows = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 5:
            rows.append(dict(state=fields[0], recv_q=int(fields[1]), send_q=int(fields[2]),
                             local=fields[3], peer=fields[4]))
    return rows


def _tcp_packets(data: bytes):
    """(time, link-layer bytes, TCP header) of every TCP packet in a pcap, and the pcap reader."""
    reader = dpkt.pcap.Reader(io.BytesIO(data))
    packets = []
    for ts, buf in reader:
        ip = dpkt.ethernet.Ethernet(buf).data
        if isinstance(ip, dpkt.ip.IP) and ip.p == dpkt.ip.IP_PROTO_TCP:
            packets.append((ts, buf, ip.data))
    return packets, reader


def tcp_segments(data: bytes) -> list[tuple[float, dpkt.tcp.TCP]]:
    """(time, TCP header) of every TCP segment in a pcap."""
    return [(ts, tcp) for ts, _, tcp in _tcp_packets(data)[0]]


def tcp_only(data: bytes) -> bytes:
    """The capture without the UDP marker datagrams (the TCP packets' bytes are copied unchanged)."""
    packets, reader = _tcp_packets(data)
    out = io.BytesIO()
    writer = dpkt.pcap.Writer(out, snaplen=reader.snaplen, linktype=reader.datalink())
    for ts, buf, _ in packets:
        writer.writepkt(buf, ts=ts)
    return out.getvalue()


def first_tcp_time(data: bytes, error=LabError) -> float:
    segments = tcp_segments(data)
    if not segments:
        raise error("the capture holds no TCP segment")
    return segments[0][0]


def version(cmd: list[str]) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=WAIT)
    lines = [line.strip() for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    return lines[0] if lines else ""


def kernel_and_tools() -> dict:
    """The kernel release and the versions of tcpdump, ss and nft, for the record."""
    return dict(kernel=platform.release(),
                tools=dict(tcpdump=version(["tcpdump", "--version"]), ss=version(["ss", "-V"]),
                           nft=version(["nft", "--version"])))
