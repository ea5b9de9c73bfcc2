#!/usr/bin/env python3
"""A shell job on a terminal, dumped with -j and restored with -j elsewhere.

Two pseudo-terminals stand in for two shells' terminals. On the first, a
"shell" (a session leader with the pty as its controlling terminal) starts
build/tests/zoo/zoo-tty-job as a job: its own process group, in the
foreground, stdio on the pty. The job is dumped (refused without -j, then
with -j), and restored with -j by a stasis that runs as the session leader
of the second pty. The job checks itself (its fds, controlling terminal,
foreground group, echo and window size, a line typed and a line written);
this script checks from outside too.

Usage: tty-job.py WORKDIR   (STASIS and BUILD from the environment)
Prints PASS/FAIL lines; kills what it started, by pid.
"""
import fcntl
import json
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time

STASIS = os.environ["STASIS"]
JOB = os.path.join(os.environ["BUILD"], "tests/zoo/zoo-tty-job")
WORK = sys.argv[1]
started = []  # every pid this script made, killed at the end if still there


def report(kind, name, why=""):
    print(f"{kind} tty/{name}" + (f": {why}" if why else ""), flush=True)


def wait_file(path, seconds=20):
    end = time.time() + seconds
    while time.time() < end:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return True
        time.sleep(0.02)
    return False


def wait_gone(pid, seconds=10):
    end = time.time() + seconds
    while time.time() < end:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not os.path.exists(f"/proc/{pid}") or stat_of(pid)[0] in "ZX":
            return True
        time.sleep(0.02)
    return False


def stat_of(pid):
    """(state, pgrp, session, tty_nr, tpgid) of /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    f = s[s.rindex(")") + 2:].split()
    return f[0], int(f[2]), int(f[3]), int(f[4]), int(f[5])


def exec_on(tty, argv, env=None):
    """In a forked child: tty on 0-2, nothing else open, then exec."""
    for fd in (0, 1, 2):
        os.dup2(tty, fd)
    os.closerange(3, 4096)
    os.execve(argv[0], argv, env or os.environ)


def spawn_job(d, brk=None):
    """A shell with a new pty as its terminal, running the job in the foreground.
    Returns (master, job pid), the pid None if the job did not start."""
    master, slave = os.openpty()
    env = dict(os.environ)
    env.pop("STASIS_ZOO_BREAK", None)
    if brk:
        env["STASIS_ZOO_BREAK"] = str(brk)
    shell = os.fork()
    if shell == 0:
        try:
            os.close(master)
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            job = os.fork()
            if job == 0:
                os.setpgid(0, 0)
                signal.signal(signal.SIGTTOU, signal.SIG_IGN)
                os.tcsetpgrp(slave, os.getpid())
                signal.signal(signal.SIGTTOU, signal.SIG_DFL)
                signal.signal(signal.SIGPIPE, signal.SIG_DFL)
                exec_on(slave, [JOB, "--pidfile", f"{d}/pid", "--verdict", f"{d}/verdict"], env)
            os.waitpid(job, 0)
        finally:
            os._exit(0)
    started.append(shell)
    os.close(slave)
    if not wait_file(f"{d}/pid"):
        return master, None
    pid = int(open(f"{d}/pid").read())
    started.append(pid)
    return master, pid


def read_until(master, needle, seconds=10):
    out = b""
    end = time.time() + seconds
    while needle not in out and time.time() < end:
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out.decode(errors="replace")


def verdict(d):
    return open(f"{d}/verdict").read().strip() if wait_file(f"{d}/verdict") else "(no verdict)"


def finish_job(master, d, pid):
    """Type the line, SIGTERM, wait for the verdict."""
    os.write(master, b"ping\n")
    os.kill(pid, signal.SIGTERM)
    v = verdict(d)
    wait_gone(pid)
    return v


def run_plain():
    """The job passes without a checkpoint, and fails after each of its breaks."""
    d = os.path.join(WORK, "plain")
    os.makedirs(d)
    master, pid = spawn_job(d)
    if not pid:
        return report("FAIL", "run", "the job did not start")
    v = finish_job(master, d, pid)
    out = read_until(master, b"hello", 2)
    if v != "PASS" or "hello from" not in out:
        return report("FAIL", "run", f"verdict {v}, output {out!r}")
    report("PASS", "run")
    breaks = subprocess.run([JOB, "--breaks"], capture_output=True, text=True).stdout.split("\n")
    for line in filter(None, breaks):
        n = int(line.split()[0])
        d = os.path.join(WORK, f"break-{n}")
        os.makedirs(d)
        master, pid = spawn_job(d, n)
        if not pid:
            report("FAIL", f"break/{n}", "the job did not start")
            continue
        v = finish_job(master, d, pid)
        if v.startswith("FAIL"):
            report("PASS", f"break/{n}")
        else:
            report("FAIL", f"break/{n}", f"{line}: verdict {v}")


def stasis(*args, stdin=subprocess.DEVNULL):
    return subprocess.run([STASIS, *args], capture_output=True, text=True, stdin=stdin,
                          timeout=60)


def restore_on_new_pty(d, img):
    """stasis restore -j as the session leader of a new pty; returns (master, slave path, pid)."""
    master, slave = os.openpty()
    path = os.ttyname(slave)
    pid = os.fork()
    if pid == 0:
        try:
            os.close(master)
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            exec_on(slave, [STASIS, "restore", "-j", "-D", img, "--pidfile", f"{d}/rpid",
                            "-o", "restore.log", "-v4"])
        finally:
            os._exit(127)
    started.append(pid)
    return master, slave, path, pid


def outside_checks(pid, path, slave):
    st = os.stat(path)
    state, pgrp, sid, tty_nr, tpgid = stat_of(pid)
    fd0 = os.readlink(f"/proc/{pid}/fd/0")
    if fd0 != path:
        return f"fd 0 is {fd0}, not {path}"
    if tty_nr != st.st_rdev:
        return f"controlling terminal {tty_nr:#x}, not {path} ({st.st_rdev:#x})"
    if tpgid != pgrp:
        return f"the terminal's foreground group is {tpgid}, not the job's {pgrp}"
    if termios.tcgetattr(slave)[3] & termios.ECHO:
        return "echo is on on the new terminal"
    rows, cols = struct.unpack("HHHH", fcntl.ioctl(slave, termios.TIOCGWINSZ, b"\0" * 8))[:2]
    if (rows, cols) != (33, 111):
        return f"the new terminal's window is {rows}x{cols}, not 33x111"
    return None


def crit_check(img):
    """Debian's crit (CRIU 3.17) reads the terminal as CRIU would have written it."""
    crit = "/usr/bin/crit"
    if not os.path.exists(crit):
        return report("SKIP", "crit", "Debian's crit is not installed")
    out = {}
    for name in ("tty-info", "files"):
        r = subprocess.run(["/usr/bin/python3", crit, "decode", "-i", f"{img}/{name}.img"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return report("FAIL", "crit", f"{name}.img: {r.stderr.strip()[-200:]}")
        out[name] = json.loads(r.stdout)["entries"]
    info = out["tty-info"][0]
    ttys = [e for e in out["files"] if e["type"] == "TTY"]
    if info["type"] != "PTY" or not info.get("sid") or not ttys or \
            any(t["tty"]["tty_info_id"] != info["id"] for t in ttys):
        return report("FAIL", "crit", f"tty-info {info}, files {ttys}")
    report("PASS", "crit")


def run_checkpoint():
    d = os.path.join(WORK, "cycle")
    img = os.path.join(d, "images")
    os.makedirs(img)
    _, pid = spawn_job(d)
    if not pid:
        return report("FAIL", "dump", "the job did not start")

    r = stasis("dump", "-t", str(pid), "-D", img)
    if r.returncode == 0:
        return report("FAIL", "dump/refused", "dumped without -j")
    if "--shell-job" not in r.stderr or stat_of(pid)[0] in "ZX":
        return report("FAIL", "dump/refused", f"message {r.stderr!r}, or the job is gone")
    report("PASS", "dump/refused")

    r = stasis("dump", "-t", str(pid), "-D", img, "-j", "-o", "dump.log", "-v4")
    if r.returncode != 0:
        return report("FAIL", "dump", r.stderr.strip())
    if not wait_gone(pid):
        return report("FAIL", "dump", "the job still runs after the dump")
    report("PASS", "dump")
    crit_check(img)

    r = stasis("restore", "-D", img, "-d", "--pidfile", f"{d}/rpid")
    if r.returncode == 0 or "--shell-job" not in r.stderr:
        return report("FAIL", "restore/refused", f"status {r.returncode}: {r.stderr!r}")
    r = stasis("restore", "-j", "-D", img, "-d", "--pidfile", f"{d}/rpid")
    if r.returncode == 0 or "not a terminal" not in r.stderr:
        return report("FAIL", "restore/refused", f"-j from /dev/null: {r.returncode}: {r.stderr!r}")
    report("PASS", "restore/refused")

    rmaster, rslave, rpath, rstasis = restore_on_new_pty(d, img)
    if not wait_file(f"{d}/rpid"):
        out = read_until(rmaster, b"\n\n", 1)
        return report("FAIL", "restore", f"no pid file; stasis said {out!r}")
    rpid = int(open(f"{d}/rpid").read())
    if rpid != pid:
        return report("FAIL", "restore", f"restored as {rpid}, dumped as {pid}")
    why = outside_checks(pid, rpath, rslave)
    v = finish_job(rmaster, d, pid)
    out = read_until(rmaster, b"hello", 5)
    _, status = os.waitpid(rstasis, 0)
    if why:
        return report("FAIL", "restore", why)
    if v != "PASS":
        return report("FAIL", "restore", f"the job says {v}")
    if f"hello from {rpath}" not in out:
        return report("FAIL", "restore", f"no greeting from {rpath} on the new terminal: {out!r}")
    if os.waitstatus_to_exitcode(status) != 0:
        return report("FAIL", "restore", f"stasis restore ended with {status:#x}")
    report("PASS", "restore")


def main():
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        run_plain()
        run_checkpoint()
    finally:
        for pid in started:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            wait_gone(pid, 5)


main()
