"""Capture files in and out: a Trace written as a pcap that Wireshark opens, a capture read back as Traces.

``write`` turns each transmission of a Trace into a packet stamped with the simulated time.
``read`` goes the other way: every TCP connection in a capture becomes a CapturedTrace, whose
states ``replay`` infers by feeding the captured segments through two model Endpoints.
"""
from .read import LINUX_TIME_WAIT, PcapError, PcapWarning, read_pcap
from .replay import CapturedTrace, Mismatch
from .write import write_pcap

__all__ = ["CapturedTrace", "LINUX_TIME_WAIT", "Mismatch", "PcapError", "PcapWarning", "read_pcap", "write_pcap"]
