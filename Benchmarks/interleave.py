#!/usr/bin/env python3
"""Times shell commands in interleaved rounds and writes hyperfine-style JSON.

    interleave.py SPEC.json RUNS OUT.json

SPEC is a JSON list of {"name", "prepare", "command"}. After one untimed warm-up round,
every round runs each command once — its `prepare` first, untimed — in the spec's order on
even rounds and in reverse order on odd ones. Why not hyperfine's own runs: hyperfine runs
all runs of one command before the next command, so on a file system whose speed drifts
during a run (ext4 on this VM gets slower at creating files as the opened copies pile up,
and for minutes after thousands are deleted) whichever command comes later is measured on
a slower disk. Interleaved, every command sees the same drift.

Each command runs in `bash -o pipefail -c` with standard input from /dev/null; as
hyperfine does, the time bash takes to start and exit (the median of 20 runs of `true`,
~1–3 ms) is subtracted from every timing. With an odd RUNS the spec's order runs once
more than the reverse.

OUT gets {"results": [{"command", "times", "median", "mean", "min", "max"}]}, the fields of
hyperfine's --export-json that compare.sh reads. A command or prepare step that fails —
any part of a pipeline — stops the run with its output.
"""
import json
import statistics
import subprocess
import sys
import time


def run(shell_command, what):
    started = time.perf_counter()
    done = subprocess.run(["bash", "-o", "pipefail", "-c", shell_command],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"interleave.py: {what} failed ({done.returncode}): {shell_command}\n{done.stderr.decode(errors='replace')}")
    return elapsed


def main():
    spec_path, runs, out_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if runs < 1:
        sys.exit("interleave.py: RUNS must be at least 1")
    with open(spec_path) as f:
        spec = json.load(f)
    shell = statistics.median(run("true", "bash") for _ in range(20))
    times = {entry["name"]: [] for entry in spec}
    for round_number in range(-1, runs):  # round -1: warm-up, not recorded
        order = spec if round_number % 2 == 0 else list(reversed(spec))
        for entry in order:
            run(entry["prepare"], f"prepare of {entry['name']!r}")
            elapsed = max(0.0, run(entry["command"], repr(entry["name"])) - shell)
            if round_number >= 0:
                times[entry["name"]].append(elapsed)
        if round_number >= 0:
            print(f"  round {round_number + 1}/{runs}: " + ", ".join(f"{name} {values[-1]:.3f}" for name, values in times.items()),
                  file=sys.stderr)
    results = [{"command": name, "times": values, "median": statistics.median(values), "mean": statistics.mean(values),
                "min": min(values), "max": max(values)} for name, values in times.items()]
    with open(out_path, "w") as f:
        json.dump({"results": results, "shell_seconds": shell}, f, indent=1)


if __name__ == "__main__":
    main()
