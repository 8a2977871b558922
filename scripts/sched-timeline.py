#!/usr/bin/env python3
"""Where a process had at most one thread to run, from the scheduler's events.

    nice -n -20 perf sched record -k mono -o run.data -- BINARY ARGS... 2> marks.txt
    scripts/sched-timeline.py run.data marks.txt COMM          # phases between marks
    scripts/sched-timeline.py run.data - COMM 0.01             # 10 ms windows

COMM: the start of the process's thread names (the binary's file name, up to
15 characters: copy the binary under a name no other process has). MARKS:
lines `MARK <seconds>.<nanoseconds> <thread> <label>` on CLOCK_MONOTONIC (a
temporary build printing `format!("{:?}", Instant::now())` at phase
boundaries); `-` for fixed windows of the given seconds.

For each phase: wall ms; ms with 0, 1 and 2 or more of the process's threads
runnable or running (a thread waiting for the disk, `D`, or sleeping is not);
CPU ms of its threads; mean runnable threads; CPU ms while only one was
runnable (the serial CPU). docs/performance.md, "Two threads, round 8".
"""
import re, subprocess, sys
from collections import defaultdict

data, marks_file = sys.argv[1], sys.argv[2]
marks_file = None if marks_file == "-" else marks_file
prefix = sys.argv[3] if len(sys.argv) > 3 else "backstop"
out = subprocess.run(["perf", "script", "-i", data, "-F", "comm,tid,cpu,time,event,trace"],
                     capture_output=True, text=True).stdout
ev = []
sw = re.compile(r"prev_comm=(.*?) prev_pid=(\d+) .*?prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)")
wk = re.compile(r"comm=(.*?) pid=(\d+) ")
for line in out.splitlines():
    m = re.match(r"\s*(.*?)\s+(-?\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)", line)
    if not m:
        continue
    comm, tid, cpu, t, e, rest = m.groups()
    cpu = int(cpu)
    t = float(t)
    if e == "sched:sched_switch":
        s = sw.search(rest)
        if s:
            ev.append((t, "sw", s.group(1), int(s.group(2)), s.group(3), s.group(4), int(s.group(5)), cpu))
    elif e in ("sched:sched_wakeup", "sched:sched_wakeup_new", "sched:sched_waking"):
        s = wk.search(rest)
        if s:
            ev.append((t, "wk", s.group(1), int(s.group(2))))
    elif e == "sched:sched_process_exit":
        ev.append((t, "exit", comm, int(tid)))
marks = []
for line in (open(marks_file) if marks_file else []):
    m = re.match(r"MARK (\d+)\.(\d+) (\S+) (.*)", line)
    if m:
        marks.append((int(m.group(1)) + int(m.group(2)) / 1e9, m.group(4).strip()))
marks.sort()
if not marks:
    first = next(e[0] for e in ev if (e[1]=="sw" and (e[2].startswith(prefix) or e[5].startswith(prefix))) or (e[1]!="sw" and e[2].startswith(prefix)))
    last = max(e[0] for e in ev if (e[1]=="sw" and (e[2].startswith(prefix) or e[5].startswith(prefix))) or (e[1]!="sw" and e[2].startswith(prefix)))
    w = float(sys.argv[4]) if len(sys.argv) > 4 else 0.01
    k = 0
    while first + k * w <= last + w:
        marks.append((first + k * w, f"{k*w*1e3:8.0f} ms"))
        k += 1
ours = lambda c: c.startswith(prefix)
oncpu = {}
ser = {}
dem = {}
state = {}  # tid -> 'run' | 'rq' | 'sl'
t0 = marks[0][0] if marks else ev[0][0]
end = marks[-1][0] if marks else ev[-1][0]
phases = [(marks[i][0], marks[i + 1][0], f"{i:02d} {marks[i][1]}") for i in range(len(marks) - 1)]
acc = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
prev_t = None
def add(t_from, t_to):
    # split interval across phases
    for a, b, name in phases:
        lo, hi = max(a, t_from), min(b, t_to)
        if hi > lo:
            d = sum(1 for s in state.values() if s in ("run", "rq"))
            r = sum(1 for s in state.values() if s == "run")
            k = 0 if d == 0 else (1 if d == 1 else 2)
            acc[name][k] += hi - lo
            acc[name][3] += r * (hi - lo)
            dem[name] = dem.get(name, 0) + d * (hi - lo)
            if d == 1:
                ser[name] = ser.get(name, 0) + r * (hi - lo)
for e in ev:
    t = e[0]
    if prev_t is not None:
        add(prev_t, t)
    prev_t = t
    if e[1] == "sw":
        _, _, pc, pp, ps, nc, np_, cpu = e
        old = oncpu.get(cpu)
        if old is not None and old != pp and state.get(old) == "run":
            state[old] = "rq"
        if ours(pc):
            state[pp] = "rq" if ps.startswith("R") else "sl"
        oncpu[cpu] = np_ if ours(nc) else None
        if ours(nc):
            for c2, t2 in list(oncpu.items()):
                if c2 != cpu and t2 == np_:
                    oncpu[c2] = None
            state[np_] = "run"
    elif e[1] == "wk":
        _, _, c, p = e
        if ours(c) and state.get(p) != "run":
            state[p] = "rq"
    elif e[1] == "exit":
        if ours(e[2]):
            state.pop(e[3], None)
print(f"{'phase':44s} {'wall':>7s} {'0 thr':>7s} {'1 thr':>7s} {'2+ thr':>7s} {'cpu':>7s} {'demand':>7s} {'cpu@1':>7s} (ms; demand = mean runnable+running threads)")
tot = [0.0] * 7
for a, b, name in phases:
    x = acc[name]
    row = [(b - a) * 1e3] + [v * 1e3 for v in x[:4]] + [dem.get(name, 0) / max(b - a, 1e-12), ser.get(name, 0) * 1e3]
    tot = [p + q for p, q in zip(tot, row)]
    print(f"{name[:44]:44s} " + " ".join(f"{v:7.1f}" for v in row))
tot[5] = 0
print(f"{'total':44s} " + " ".join(f"{v:7.1f}" for v in tot))
print("left:", {k: v for k, v in state.items() if v != "sl"})
