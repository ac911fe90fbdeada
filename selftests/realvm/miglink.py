#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The migration link of the real COLO pair, with a way to die mid-checkpoint.

  miglink.py LISTEN TARGET ARM

Listens on the unix socket LISTEN (where the PVM migrates to) and joins
each connection to TARGET (the SVM's -incoming socket), both ways.

Why: a host that dies in the tests dies when its QEMU is killed, at a
moment the test cannot choose; a checkpoint's pause is a few ms of every
few seconds, so killing the primary while the secondary is stopped for a
checkpoint happens about once in a hundred runs. This link makes that
moment exact. The secondary's direction of a COLO link carries nothing but
COLO messages, each a big-endian 32-bit number (QEMU 7.2,
migration/colo.c, colo_send_message(); qapi/migration.json, COLOMessage):
checkpoint-ready (0) once, then checkpoint-reply (2), vmstate-received (5)
and vmstate-loaded (6) per checkpoint. The secondary sends
checkpoint-reply after it stopped its VM for the checkpoint. When the file
ARM exists, the link keeps the next checkpoint-reply from the primary and
forwards nothing more that way, and renames ARM to ARM.done: the
secondary is now stopped mid-checkpoint, and the primary waits for a reply
that never comes, until the test kills it and the link closes.
"""
import os
import socket
import struct
import sys
import threading

COLO_CHECKPOINT_REPLY = 2
COLO_MESSAGE_MAX = 7
CHUNK = 1 << 20


def shut(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def primary_to_secondary(pvm, svm):
    """The bulk (RAM and device state): copied as it comes."""
    try:
        while True:
            data = pvm.recv(CHUNK)
            if not data:
                break
            svm.sendall(data)
    except OSError:
        pass
    shut(svm)
    shut(pvm)


def secondary_to_primary(svm, pvm, arm):
    """COLO messages, read as such; the armed checkpoint-reply is kept."""
    pending = b""
    parsing = True
    try:
        while True:
            data = svm.recv(4096)
            if not data:
                break
            if not parsing:
                pvm.sendall(data)
                continue
            pending += data
            whole = len(pending) - len(pending) % 4
            for off in range(0, whole, 4):
                (msg,) = struct.unpack_from(">I", pending, off)
                if msg >= COLO_MESSAGE_MAX:
                    # Not a COLO link (a QEMU of another version?): copy
                    # from here on, never cut.
                    print("miglink: message %u is no COLO message; copying "
                          "blindly" % msg, file=sys.stderr)
                    parsing = False
                    break
                if msg == COLO_CHECKPOINT_REPLY and os.path.exists(arm):
                    pvm.sendall(pending[:off])
                    os.rename(arm, arm + ".done")
                    return
            if not parsing:
                pvm.sendall(pending)
                pending = b""
                continue
            pvm.sendall(pending[:whole])
            pending = pending[whole:]
    except OSError:
        pass
    shut(pvm)
    shut(svm)


def serve(conn, target, arm):
    svm = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        svm.connect(target)
    except OSError as e:
        print("miglink: cannot reach %s: %s" % (target, e), file=sys.stderr)
        conn.close()
        return
    threading.Thread(target=primary_to_secondary, args=(conn, svm),
                     daemon=True).start()
    threading.Thread(target=secondary_to_primary, args=(svm, conn, arm),
                     daemon=True).start()


def main():
    if len(sys.argv) != 4:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    listen, target, arm = sys.argv[1:]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        os.unlink(listen)
    except FileNotFoundError:
        pass
    srv.bind(listen)
    srv.listen(4)
    while True:
        conn, _ = srv.accept()
        serve(conn, target, arm)


if __name__ == "__main__":
    sys.exit(main())
