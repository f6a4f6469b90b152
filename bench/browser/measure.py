#!/usr/bin/env python3
"""Runs a command and reports its wall time, CPU time and peak memory, every descendant
included (a browser is a tree of processes, some of which outlive their parent).

    measure.py -- COMMAND...     prints one JSON line: {"wall", "cpu", "peak_pss_mib", "how"}

The command runs in a cgroup of its own (v1 `cpuacct` or v2, created and removed here; root
needed), so CPU time is the kernel's count for the whole tree, including processes that were
re-parented to init. Memory is sampled every 20 ms as the sum of the proportional set size
(PSS: a page shared by n processes counts 1/n in each) of every process in the cgroup, and the
peak kept; RSS would count the browser's shared pages once per process. Without cgroups it
falls back to wait4's CPU time (descendants reaped by their parents only) and samples the
process tree.
"""

import json
import os
import subprocess
import sys
import threading
import time

V1 = "/sys/fs/cgroup/cpuacct"
V2 = "/sys/fs/cgroup"


def make_cgroup():
    name = f"grandma-bench-{os.getpid()}-{time.monotonic_ns()}"
    for root, usage in ((V1, "cpuacct.usage"), (V2, "cpu.stat")):
        path = os.path.join(root, name)
        try:
            os.mkdir(path)
        except OSError:
            continue
        if os.path.exists(os.path.join(path, usage)):
            return path, root == V1
        os.rmdir(path)
    return None, False


def cgroup_cpu(path, v1):
    if v1:
        with open(os.path.join(path, "cpuacct.usage")) as f:
            return int(f.read()) / 1e9
    with open(os.path.join(path, "cpu.stat")) as f:
        for line in f:
            if line.startswith("usage_usec"):
                return int(line.split()[1]) / 1e6
    return 0.0


def pss(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree(root):
    """The pids under root, by parent links."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
                parents[int(entry)] = int(stat[stat.rfind(")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    found, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found.add(pid)
                frontier.append(pid)
    return found


def members(cgroup, root):
    if cgroup is None:
        return tree(root)
    try:
        with open(os.path.join(cgroup, "cgroup.procs")) as f:
            return {int(line) for line in f if line.strip()}
    except OSError:
        return set()


def main():
    command = sys.argv[sys.argv.index("--") + 1:]
    cgroup, v1 = make_cgroup()

    def enter():
        if cgroup is not None:
            with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

    started = time.monotonic()
    proc = subprocess.Popen(command, preexec_fn=enter)
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, sum(pss(pid) for pid in members(cgroup, proc.pid)))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    if cgroup is not None:
        # Processes the command left behind end with it; wait for them to be counted.
        for _ in range(100):
            if not members(cgroup, proc.pid):
                break
            time.sleep(0.05)
    done.set()
    sampler.join()
    if cgroup is not None:
        cpu, how = cgroup_cpu(cgroup, v1), "cgroup"
        try:
            os.rmdir(cgroup)
        except OSError:
            pass
    else:
        cpu, how = usage.ru_utime + usage.ru_stime, "wait4"
    code = os.waitstatus_to_exitcode(status)
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_pss_mib": peak / 2**20, "how": how,
                      "exit": code}))
    sys.exit(0 if code == 0 else 1)


main()
