# SPDX-License-Identifier: GPL-2.0
"""A small QMP client for the real-VM selftests.

It speaks to a QEMU monitor over a unix socket or over a character device
(a virtio serial port of the test guest whose host side is connected to a
QEMU's QMP socket on the outer machine). On a serial port the greeting is
sent when the outer QEMU connects, which may be long before anyone opens
the port, and a previous user may already have left the monitor in command
mode: so the client never waits for a greeting, it sends qmp_capabilities
and accepts "already negotiated" as success. Replies are matched by id and
everything else read (greetings, stale replies) is skipped; events are
kept, each with the monotonic time at which it was read.
"""
import json
import os
import select
import socket
import stat
import time


class QMPError(Exception):
    """A QMP command returned an error, or the monitor went away."""


class QMP:
    def __init__(self, path, timeout=30.0):
        self.path = path
        self.events = []
        self._buf = b""
        self._seq = 0
        self._tag = "%d.%d" % (os.getpid(), int(time.monotonic() * 1000))
        if stat.S_ISSOCK(os.stat(path).st_mode):
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._sock.connect(path)
            self._fd = self._sock.fileno()
        else:
            self._sock = None
            self._fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        try:
            self.cmd("qmp_capabilities", timeout=timeout)
        except QMPError as e:
            if "CommandNotFound" not in str(e):
                raise

    def close(self):
        if self._sock:
            self._sock.close()
        else:
            os.close(self._fd)

    def _write(self, data):
        while data:
            n = os.write(self._fd, data)
            data = data[n:]

    def _read_msg(self, deadline):
        """One JSON message, or None at the deadline."""
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self._fd], [], [], left)
            if not r:
                continue
            chunk = os.read(self._fd, 65536)
            if not chunk:
                raise QMPError("%s: the monitor went away" % self.path)
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        line = line.strip()
        if not line:
            return {}
        try:
            msg = json.loads(line)
        except ValueError:
            # A line cut by an earlier reader's close: skip it.
            return {}
        if "event" in msg:
            msg["_t"] = time.monotonic()
            self.events.append(msg)
        return msg

    def cmd(self, name, timeout=30.0, **args):
        self._seq += 1
        ident = "%s-%d" % (self._tag, self._seq)
        req = {"execute": name, "id": ident}
        if args:
            req["arguments"] = args
        self._write(json.dumps(req).encode() + b"\n")
        deadline = time.monotonic() + timeout
        while True:
            msg = self._read_msg(deadline)
            if msg is None:
                raise QMPError("%s: no reply to %s in %gs" %
                               (self.path, name, timeout))
            if msg.get("id") != ident:
                continue
            if "error" in msg:
                raise QMPError("%s: %s: %s: %s" % (
                    self.path, name, msg["error"].get("class"),
                    msg["error"].get("desc")))
            return msg.get("return")

    def poll(self, timeout):
        """Read events for up to timeout seconds."""
        deadline = time.monotonic() + timeout
        while self._read_msg(deadline) is not None:
            pass

    def wait_event(self, name, timeout, since=0):
        """The first event NAME at index >= since, waiting up to timeout."""
        deadline = time.monotonic() + timeout
        while True:
            for i in range(since, len(self.events)):
                if self.events[i]["event"] == name:
                    return i
            if self._read_msg(deadline) is None:
                return None
