#!/usr/bin/env python3
"""One tcp stream for cluster.sh probe: `recv PORT` prints the bytes it got and the seconds from
the first to the last byte; `send ADDRESS PORT BYTES` sends that many zero bytes. Seconds from
the first byte, not from the connect, so a connect's latency does not count as bandwidth."""
import socket
import sys
import time


def receive(port):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", port))
    server.listen(1)
    server.settimeout(60)
    conn, _ = server.accept()
    conn.settimeout(60)
    total, first = 0, None
    while True:
        data = conn.recv(1 << 20)
        if not data:
            break
        if first is None:
            first = time.monotonic()
        total += len(data)
    print(total, time.monotonic() - (first or time.monotonic()))


def send(address, port, count):
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = socket.create_connection((address, port), timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    chunk = bytes(1 << 20)
    left = count
    while left > 0:
        conn.sendall(chunk[: min(left, len(chunk))])
        left -= min(left, len(chunk))
    conn.close()


if __name__ == "__main__":
    if sys.argv[1] == "recv":
        receive(int(sys.argv[2]))
    else:
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
