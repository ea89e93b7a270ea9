#!/usr/bin/env python3
"""Runs a command and prints two figures in KiB: its peak resident set (the kernel's
ru_maxrss, what `/usr/bin/time -f %M` prints) and the largest private (anonymous) memory
seen while polling /proc/PID/smaps_rollup every millisecond.

    peak-memory.py COMMAND [ARG...]

Why both: the resident set also counts the pages of the program and its libraries that are
mapped from the page cache, ~24–30 MiB for `dossier` (the static binary's code, libcrypto,
libc, …), and that part varies by several MiB with the page cache's state (how the kernel
happened to cache the binary: just written by the linker, read back from disk, partly
evicted). The private part is the memory the process allocated. A failing command stops
with its exit status.
"""
import os
import subprocess
import sys
import time

child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
private = 0
while True:
    pid, status, usage = os.wait4(child.pid, os.WNOHANG)
    if pid:
        break
    try:
        with open(f"/proc/{child.pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Anonymous:"):
                    private = max(private, int(line.split()[1]))
    except OSError:
        pass
    time.sleep(0.001)
code = os.waitstatus_to_exitcode(status)
child.returncode = code
if code != 0:
    sys.exit(f"peak-memory.py: failed ({code}): {' '.join(sys.argv[1:])}")
print(usage.ru_maxrss, private)
