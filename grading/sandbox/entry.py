"""First code that runs inside the grading sandbox: limits, then the kernel.

``launch.py`` binds this file read-only at ``/run/nndl-sandbox/entry.py``, with
``guard.py`` and ``policy.py`` beside it, and runs it as ``python -s -B
/run/nndl-sandbox/entry.py --workdir DIR --memory-limit BYTES ... -- CONNECTION_FILE
[ipykernel options]`` (one flag per limit of ``policy.Policy``). In order, it:

1. switches to the unprivileged ``--uid``/``--gid`` when started as root (root is
   exempt from the process limit, and would own every file it writes), then changes
   into the submission folder ``--workdir``;
2. sets the resource limits (inside the sandbox, so a user namespace created by
   bubblewrap counts only the sandbox's own processes);
3. imports numpy and the kernel machinery from site-packages and records the pristine
   numpy functions (``guard``) before the student's folder is on ``sys.path``,
   so a submitted ``numpy.py`` or ``sitecustomize.py`` shadows nothing;
4. sets up ipykernel, then puts the student's folder first on ``sys.path`` and starts
   the kernel.
"""

import argparse
import os
import resource
import sys

from policy import Policy  # policy.py, bound beside this file

LIMITS = {name: getattr(resource, rlimit) for name, rlimit in Policy.rlimits().items()}


def drop_privileges(uid, gid):
    """Become ``uid:gid`` with no supplementary groups (and so no capabilities)."""
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise SystemExit(f"nndl sandbox: could not switch to uid {uid}")


def apply_limits(args):
    """Set every limit of ``LIMITS`` (soft and hard) and switch off core dumps.

    The CPU hard limit is a few seconds above the soft one, so the kernel first gets
    SIGXCPU (reported as such) rather than SIGKILL.
    """
    for name, which in LIMITS.items():
        value = getattr(args, name)
        hard = value + 5 if which == resource.RLIMIT_CPU else value
        resource.setrlimit(which, (value, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def self_test(hidden_path):
    """Print what the sandbox looks like from inside, as one JSON line."""
    import json
    import socket
    read_end, write_end = os.pipe()
    probe = os.path.join(os.getcwd(), ".nndl-sandbox-probe")
    try:
        with open(probe, "w"):
            pass
        os.remove(probe)
        writable = True
    except OSError:
        writable = False
    outside = []  # places outside the submission and /tmp that took a new file
    for folder in ("/", "/etc", "/usr", os.path.dirname(os.__file__)):
        try:
            with open(os.path.join(folder, ".nndl-sandbox-probe"), "w"):
                pass
            outside.append(folder)
        except OSError:
            pass
    children = []
    try:
        for _ in range(resource.getrlimit(resource.RLIMIT_NPROC)[0] + 10):
            pid = os.fork()
            if pid == 0:
                os.close(write_end)
                os.read(read_end, 1)  # returns once the parent closes its end: all stay alive
                os._exit(0)
            children.append(pid)
    except OSError:
        pass
    os.close(write_end)
    for pid in children:
        os.waitpid(pid, 0)
    print(json.dumps({
        "uid": os.getuid(),
        "forks": len(children),
        "capabilities": next(int(line.split()[1], 16) for line in open("/proc/self/status")
                             if line.startswith("CapEff:")),
        "interfaces": sorted(name for _, name in socket.if_nameindex()),
        "instructor_files_visible": os.path.exists(hidden_path),
        "workdir_writable": writable,
        "writable_outside": outside,
        "limits": {name: resource.getrlimit(which)[0] for name, which in LIMITS.items()},
    }))


def main():
    parser = argparse.ArgumentParser()
    Policy.add_limit_arguments(parser)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--uid", type=int)
    parser.add_argument("--gid", type=int)
    args, rest = parser.parse_known_args()
    if rest[:1] == ["--"]:
        rest = rest[1:]
    if not rest:
        raise SystemExit("nndl sandbox: missing connection file (or --self-test PATH)")
    connection_file, kernel_args = rest[0], rest[1:]

    if os.getuid() == 0:
        if args.uid is None or args.gid is None:
            raise SystemExit("nndl sandbox: refusing to run the kernel as root")
        drop_privileges(args.uid, args.gid)
    os.chdir(args.workdir)
    apply_limits(args)
    if connection_file == "--self-test":
        return self_test(kernel_args[0])

    sys.dont_write_bytecode = True
    import numpy  # noqa: F401  (the real one, before the student's folder is on sys.path)
    from ipykernel.kernelapp import IPKernelApp
    import guard

    # parent_handle=1: no parent polling (in the PID namespace the parent is pid 1 anyway)
    # and no "Ctrl-C will not work" banner on the instructor's terminal
    sys.argv = ["ipykernel", "-f", connection_file, "--IPKernelApp.parent_handle=1",
                "--HistoryManager.hist_file=:memory:"] + kernel_args

    app = IPKernelApp.instance()
    app.initialize()
    # only now the student's folder: the kernel's own modules cannot be shadowed
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.insert(0, os.getcwd())
    extra = [m for m in os.environ.get("NNDL_SANDBOX_GUARDED_MODULES", "").split(",") if m]
    guard.install(app.shell, extra)
    app.start()


if __name__ == "__main__":
    main()
