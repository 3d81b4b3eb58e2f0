"""Run the Linux scenarios on real sockets over loopback, capture the segments, record the states.

    sudo .venv/bin/python -m tcplesson.capture --out notebooks/data              # every scenario
    sudo .venv/bin/python -m tcplesson.capture --out /tmp/caps half-close refused

For each scenario of ``tcplesson.linux.SCRIPTS`` this makes the socket calls of its script on
127.0.0.1 while ``tcpdump -i lo`` records the port, and after every call it asks ``ss -tanoi`` for
the state of each socket. It writes NAME.pcap (the scenario's TCP segments, exactly as tcpdump
saw them) and NAME.json (the calls with their times, what ``ss`` showed after each, the kernel
version and the commands used). Capturing needs root, tcpdump and ss (Debian packages tcpdump
and iproute2).

tcpdump runs with --immediate-mode so that no packet waits in a capture buffer; to know that the
capture has started and that every segment is in the file, the script sends a UDP datagram to the
same port before the first call and after the last, waits until each shows up in the file, and
leaves both out of NAME.pcap.
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

import dpkt

from . import linux
from .segment import flag_names

HOST = "127.0.0.1"
WAIT = 10.0  # seconds: the longest any step may take before the capture is given up
POLL = 0.005
_START, _END = b"tcplesson capture starts", b"tcplesson capture ends"


class CaptureError(RuntimeError):
    """Capturing is not possible here, or a scenario did not run as its script says."""


def missing() -> str | None:
    """Why nothing can be captured on this machine (not root, no tcpdump, no ss), or None."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append("root (tcpdump needs it to capture)")
    for tool, package in (("tcpdump", "tcpdump"), ("ss", "iproute2")):
        if shutil.which(tool) is None:
            reasons.append(f"{tool} (Debian package {package})")
    return "capturing needs " + " and ".join(reasons) if reasons else None


def capture(name, out_dir) -> dict:
    """Run one scenario for real; write NAME.pcap and NAME.json into ``out_dir`` and return the record."""
    sc = linux.script(name)
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a directory name, got {type(out_dir).__name__}")
    reason = missing()
    if reason:
        raise CaptureError(reason)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tcplesson-") as tmp:
        run = _Capture(sc, Path(tmp) / "raw.pcap")
        try:
            record = run.go()
        finally:
            run.close()
        packets = _without_markers(run.raw.read_bytes())
    (out / f"{sc.name}.pcap").write_bytes(packets)
    (out / f"{sc.name}.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


class _Capture:
    def __init__(self, sc: linux.Script, raw: Path) -> None:
        self.sc, self.raw = sc, raw
        self.socks: dict[str, socket.socket | None] = {"client": None, "server": None}
        first = self._socket()
        first.bind((HOST, 0))
        self.port = first.getsockname()[1]
        if sc.self_connect:
            self.socks["client"] = first
            self.listener = None
        else:
            self.listener = first  # bound; it listens only if the script says so
        self.client_port: int | None = self.port if sc.self_connect else None
        self.tcpdump_cmd = ["tcpdump", "-i", "lo", "-nn", "-U", "--immediate-mode", "-Z", "root", "-w",
                            str(raw), f"tcp port {self.port} or udp port {self.port}"]
        self.ss_cmd = ["ss", "-tanoi", "state", "all", f"( sport = :{self.port} or dport = :{self.port} )"]
        self.tcpdump: subprocess.Popen | None = None

    @staticmethod
    def _socket() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(WAIT)
        return sock

    def go(self) -> dict:
        self._start_tcpdump()
        self._marker(_START)
        steps = []
        for call in self.sc.calls:
            if call.pause:
                time.sleep(call.pause)  # the script's pause is part of the scenario, not a wait
            start = time.time()
            result = self._do(call)
            end = time.time()
            if result != (call.expect or "ok"):
                raise CaptureError(f"{self.sc.name}: {call.who} {call.action}() ended with {result}, "
                                   f"expected {call.expect or 'success'}")
            snapshot = self._snapshot() if call.look else dict(ss_at=None, ss=None, states=None)
            steps.append(dict(who=call.who, call=f"{call.action}()", pause=call.pause, at=[start, end],
                              result=result, **snapshot))
        final = self._settle()
        self._marker(_END)
        self._stop_tcpdump()
        t0 = _first_tcp_time(self.raw.read_bytes())
        for step in steps + [final]:
            for key in ("at", "ss_at"):
                if step.get(key):
                    step[key] = [round(t - t0, 6) for t in step[key]]
        client = [HOST, self.client_port] if self.client_port else None
        return dict(scenario=self.sc.name, description=self.sc.description, kernel=platform.release(),
                    tcpdump=_version(["tcpdump", "--version"]), ss=_version(["ss", "-V"]),
                    commands=dict(tcpdump=[a if a != str(self.raw) else "raw.pcap" for a in self.tcpdump_cmd],
                                  ss=self.ss_cmd), client=client,
                    server=[HOST, self.port], steps=steps, final=final)

    # --- the socket calls ---
    def _do(self, call: linux.Call) -> str:
        try:
            getattr(self, "_" + call.action)(call)
        except ConnectionRefusedError:
            return "ECONNREFUSED"
        except ConnectionResetError:
            return "ECONNRESET"
        return "ok"

    def _listen(self, call) -> None:
        self.listener.listen()

    def _connect(self, call) -> None:
        sock = self.socks["client"] = self._socket()
        sock.bind((HOST, 0))
        self.client_port = sock.getsockname()[1]
        sock.connect((HOST, self.port))

    def _connect_self(self, call) -> None:
        sock = self.socks["client"]
        self.socks["server"] = sock
        sock.connect((HOST, self.port))

    def _accept(self, call) -> None:
        conn, _ = self.listener.accept()
        conn.settimeout(WAIT)
        self.socks["server"] = conn

    def _send(self, call) -> None:
        self.socks[call.who].sendall(call.data)

    def _recv(self, call) -> None:
        sock, got = self.socks[call.who], b""
        while len(got) < max(1, len(call.data)):
            chunk = sock.recv(65536)
            if not chunk:
                raise CaptureError(f"{self.sc.name}: {call.who} got end-of-file after {len(got)} bytes")
            got += chunk

    def _recv_eof(self, call) -> None:
        sock = self.socks[call.who]
        while sock.recv(65536):
            pass

    def _wait_readable(self, call) -> None:
        readable, _, _ = select.select([self.socks[call.who]], [], [], WAIT)
        if not readable:
            raise CaptureError(f"{self.sc.name}: nothing arrived for the {call.who} within {WAIT} s")

    def _shutdown(self, call) -> None:
        self.socks[call.who].shutdown(socket.SHUT_WR)

    def _close(self, call) -> None:
        self.socks[call.who].close()

    # --- what ss shows ---
    def _snapshot(self) -> dict:
        start = time.time()
        text = subprocess.run(self.ss_cmd, capture_output=True, text=True, check=True, timeout=WAIT).stdout
        end = time.time()
        rows = [self._row(line) for line in text.splitlines()[1:] if line and not line[0].isspace()]
        states = {who: next((r["state"] for r in rows if r["side"] in (who, "both")), None) for who in ("client", "server")}
        return dict(ss_at=[start, end], ss=rows, states=states)

    def _row(self, line: str) -> dict:
        fields = line.split()
        state, local, peer = fields[0], fields[3], fields[4]
        lport, pport = local.rsplit(":", 1)[1], peer.rsplit(":", 1)[1]
        side = "listener"
        if lport == pport == str(self.port):
            side = "both"
        elif pport == str(self.port):
            side = "client"
        elif lport == str(self.port) and pport != "*":
            side = "server"
        return dict(state=state, local=local, peer=peer, timer=" ".join(fields[5:]), side=side)

    def _settle(self) -> dict:
        """Wait until ss shows the scenario's final states (the last segment has then been sent)."""
        deadline = time.monotonic() + WAIT
        while True:
            snap = self._snapshot()
            if snap["states"] == self.sc.settled:
                return dict(who="both", call="(settled)", **snap)
            if time.monotonic() > deadline:
                raise CaptureError(f"{self.sc.name}: ss still shows {snap['states']} after {WAIT} s, "
                                   f"expected {self.sc.settled}")
            time.sleep(POLL)

    # --- tcpdump ---
    def _start_tcpdump(self) -> None:
        self.tcpdump = subprocess.Popen(self.tcpdump_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ready, _, _ = select.select([self.tcpdump.stderr], [], [], WAIT)
        line = self.tcpdump.stderr.readline().decode(errors="replace") if ready else ""
        if "listening on" not in line:
            self.close()
            raise CaptureError(f"tcpdump did not start: {line.strip() or 'no answer within %g s' % WAIT}")

    def _marker(self, text: bytes) -> None:
        """Send a UDP datagram to the port and wait until tcpdump has written it."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(text, (HOST, self.port))
        deadline = time.monotonic() + WAIT
        while not (self.raw.exists() and text in self.raw.read_bytes()):
            if time.monotonic() > deadline:
                raise CaptureError(f"tcpdump did not record the {text.decode()!r} marker within {WAIT} s")
            time.sleep(POLL)

    def _stop_tcpdump(self) -> None:
        self.tcpdump.terminate()
        self.tcpdump.wait(timeout=WAIT)

    def close(self) -> None:
        if self.tcpdump is not None and self.tcpdump.poll() is None:
            self.tcpdump.terminate()
            self.tcpdump.wait(timeout=WAIT)
        if self.tcpdump is not None:
            self.tcpdump.stderr.close()
        for sock in {id(s): s for s in (*self.socks.values(), self.listener) if s is not None}.values():
            sock.close()


def _without_markers(data: bytes) -> bytes:
    """The capture without the UDP marker datagrams (the TCP packets' bytes are copied unchanged)."""
    reader = dpkt.pcap.Reader(io.BytesIO(data))
    out = io.BytesIO()
    writer = dpkt.pcap.Writer(out, snaplen=reader.snaplen, linktype=reader.datalink())
    for ts, buf in reader:
        ip = dpkt.ethernet.Ethernet(buf).data
        if not (isinstance(ip, dpkt.ip.IP) and ip.p == dpkt.ip.IP_PROTO_UDP):
            writer.writepkt(buf, ts=ts)
    return out.getvalue()


def _first_tcp_time(data: bytes) -> float:
    for ts, buf in dpkt.pcap.Reader(io.BytesIO(data)):
        ip = dpkt.ethernet.Ethernet(buf).data
        if isinstance(ip, dpkt.ip.IP) and ip.p == dpkt.ip.IP_PROTO_TCP:
            return ts
    raise CaptureError("the capture holds no TCP segment")


def _version(cmd: list[str]) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=WAIT)
    lines = [line.strip() for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    return lines[0] if lines else ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tcplesson.capture", description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                        help=f"which to run (default: all): {', '.join(linux.SCRIPTS)}")
    parser.add_argument("--out", default="captures", help="directory for NAME.pcap and NAME.json (default: captures)")
    args = parser.parse_args(argv)
    names = args.scenarios or list(linux.SCRIPTS)
    for name in names:
        if name not in linux.SCRIPTS:
            parser.error(f"unknown scenario {name!r}; choose from: {', '.join(linux.SCRIPTS)}")
    reason = missing()
    if reason:
        print(f"cannot capture: {reason}", file=sys.stderr)
        return 2
    from .pcap import read_pcap
    for name in names:
        capture(name, args.out)
        trace = read_pcap(Path(args.out) / f"{name}.pcap")[0]
        segments = ", ".join(flag_names(tx.segment.flags) for tx in trace.transmissions)
        print(f"{name}: {len(trace.transmissions)} segments ({segments}) -> {Path(args.out) / name}.pcap")
    return 0


if __name__ == "__main__":
    sys.exit(main())
