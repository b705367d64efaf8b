"""Start one grading kernel inside a bubblewrap sandbox.

The course's grading kernelspec (``grading/sandbox/kernels/nndl-sandbox``) runs this module
(``python -I -m grading.sandbox.launch --connection-file FILE``) in the student's
autograded folder. It runs outside the sandbox with the instructor's rights, so it
imports only the standard library and ``policy.py`` beside it, never the student's folder
(``-I`` keeps the current directory off ``sys.path``).

What the kernel sees (everything else, the course root included, does not exist):

* read-only: ``/usr``, the Python installation, a few files of ``/etc``,
  ``entry.py``, ``guard.py`` and ``policy.py`` of this folder at ``/run/nndl-sandbox``
  and any ``extra_readonly_paths`` of the policy;
* writable: the student's folder (its notebooks hidden behind empty files, since they
  hold the hidden tests), the kernel's private socket folder and a small private
  ``/tmp``;
* no network (a new, empty network namespace), no other process (new PID namespace),
  editable-install hooks of site-packages masked, limits on memory, CPU time,
  processes and file size (applied inside by ``entry.py``).

The kernel talks to nbgrader over ZMQ on unix sockets (``transport: ipc``) in the
folder of the connection file, which ``SandboxKernelManager`` makes private per kernel.

When the launcher runs as root, the kernel drops to an unprivileged uid of its own
(``UID_BASE + pid``): root is exempt from the process limit. The student's folder is
handed to that uid for the run and given back afterwards.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from grading.sandbox.policy import POLICY_FILENAME, Policy

BWRAP = "bwrap"
INSIDE_DIR = "/run/nndl-sandbox"
UID_BASE = 2_000_000_000
HERE = os.path.dirname(os.path.abspath(__file__))

# the files bound read-only into the sandbox at INSIDE_DIR: entry.py runs there
INSIDE_FILES = ("entry.py", "guard.py", "policy.py")

ETC_FILES = ["ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives",
             "fonts", "mime.types", "nsswitch.conf"]

RELAYED_BYTES = 64 * 1024  # of the kernel's own stderr, to the instructor's terminal

# Signals the launcher passes on to bubblewrap instead of dying from them.
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)


class SandboxError(RuntimeError):
    """The sandbox cannot be set up as asked."""


def load_policy(connection_file):
    """Return the Policy written next to ``connection_file``, or the defaults.

    Unknown keys raise ValueError so that a typo in the course config is not silently
    ignored.
    """
    path = os.path.join(os.path.dirname(connection_file), POLICY_FILENAME)
    return Policy.load(path) if os.path.exists(path) else Policy()


def python_roots():
    """Folders holding the running Python and its packages (to mount read-only)."""
    import site
    import sysconfig
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix,
             os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))}
    roots.update(sysconfig.get_paths().values())
    roots.update(site.getsitepackages())
    return sorted({os.path.realpath(r) for r in roots if r and os.path.isdir(r)})


def environment_python():
    """The interpreter path that starts Python in the instructor's environment.

    A virtual environment's ``bin/python`` is a symlink to the base interpreter (or a copy
    of it); Python finds the environment through the ``pyvenv.cfg`` one folder above the
    path it was started as. So the kernel runs ``sys.executable`` as it is, not the file
    the symlink resolves to (which would start the base Python without the environment's
    site-packages). Only the folders above it are resolved, to match the mounts, which
    are made at real paths.
    """
    folder, name = os.path.split(os.path.abspath(sys.executable))
    return os.path.join(os.path.realpath(folder), name)


def editable_hooks(site_dirs):
    """Files in site-packages that make editable (``pip install -e``) installs importable.

    They point at source folders such as the course root; the sandbox masks them so the
    kernel learns nothing from them and imports the student's copies only.
    """
    hooks = []
    for site_dir in site_dirs:
        if not os.path.isdir(site_dir):
            continue
        for name in sorted(os.listdir(site_dir)):
            path = os.path.join(site_dir, name)
            if name.startswith("__editable__") or name.endswith(".egg-link"):
                hooks.append(path)
            elif name.endswith(".pth") and os.path.isfile(path):
                with open(path, errors="replace") as f:
                    lines = [line.strip() for line in f]
                if any("__editable__" in line or line.startswith("/") for line in lines):
                    hooks.append(path)
    return hooks


def installed_copies(site_dirs):
    """Copies in site-packages of the course's packages (those of this package's dist).

    A non-editable install of the course (``pip install .``) puts the instructor's
    ``nndl/`` (with solutions), ``utils/`` and ``grading/`` into site-packages; the
    sandbox hides them. (An editable install leaves only hooks, see editable_hooks.)
    """
    from importlib.metadata import packages_distributions
    mapping = packages_distributions()
    ours = set(mapping.get(__package__.partition(".")[0], []))
    names = sorted(name for name, dists in mapping.items() if ours & set(dists))
    copies = []
    for site_dir in site_dirs:
        for name in names:
            for candidate in (os.path.join(site_dir, name), os.path.join(site_dir, name + ".py")):
                if os.path.exists(candidate) and not os.path.islink(candidate):
                    copies.append(candidate)
    return copies


def _covered(path, mounted):
    return any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounted)


class _Mounts:
    """Accumulates bubblewrap arguments, creating the parents of each mount point.

    bubblewrap would create missing parents with the mode of the host folder (``/root``
    is 0700), which an unprivileged kernel could not traverse: they are made 0755.
    """

    def __init__(self):
        self.args = []
        self.made = {"/"}

    def parents(self, dest):
        parts = dest.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parent = "/" + "/".join(parts[:i])
            if parent not in self.made:
                self.args += ["--perms", "0755", "--dir", parent]
                self.made.add(parent)

    def add(self, option, *paths, make_parents=True):
        if make_parents:
            self.parents(paths[-1])
        self.args += [option, *paths]
        self.made.add(paths[-1])


def bwrap_command(workdir, socket_dir, policy, kernel_args, run_as=None,
                  mask_dir=None, privileged=None):
    """Return the bubblewrap command line that starts the kernel.

    Parameters
    ----------
    workdir : str
        The student's folder: mounted read-write at its own path, the kernel's cwd.
    socket_dir : str
        Folder of the connection file and the kernel's unix sockets (read-write).
    policy : Policy
        Limits and read-only paths.
    kernel_args : list of str
        Arguments for ``entry.py`` after its own options (the connection file
        and ipykernel options).
    run_as : tuple (uid, gid) or None
        Unprivileged ids the kernel switches to inside (only when run as root).
    mask_dir : str or None
        Folder with the empty files and the passwd/group files bound into the sandbox.
    privileged : bool or None
        Whether bubblewrap runs as root (default: the current euid is 0).
    """
    if privileged is None:
        privileged = os.geteuid() == 0
    workdir = os.path.realpath(workdir)
    cmd = [BWRAP, "--die-with-parent", "--new-session", "--clearenv"]
    if privileged:
        # root needs no user namespace; keep only what is needed to drop to run_as
        cmd += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--cap-drop", "ALL",
                "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        cmd += ["--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-net",
                "--unshare-uts", "--unshare-cgroup-try", "--disable-userns"]
    cmd += ["--hostname", "grader"]
    m = _Mounts()
    m.add("--proc", "/proc")
    m.add("--dev", "/dev")
    # first, so that the binds below /tmp (submission, sockets, data) land on top of it
    m.args += ["--perms", "1777", "--size", str(policy.tmp_size)]
    m.add("--tmpfs", "/tmp")
    m.add("--ro-bind", "/usr", "/usr")
    for name in ("bin", "lib", "lib64", "sbin"):
        path = "/" + name
        if os.path.islink(path):
            m.add("--symlink", os.readlink(path), path)
        elif os.path.isdir(path):
            m.add("--ro-bind", path, path)
    mounted = ["/usr"]
    for root in python_roots():
        if not _covered(root, mounted):
            m.add("--ro-bind", root, root)
            mounted.append(root)
    for name in ETC_FILES:
        m.add("--ro-bind-try", "/etc/" + name, "/etc/" + name)
    for path in readonly_data_paths(policy, workdir, privileged):
        m.add("--ro-bind", path, path)
    m.add("--bind", workdir, workdir)
    m.add("--bind", socket_dir, socket_dir)
    if mask_dir is not None:
        empty = os.path.join(mask_dir, "empty")
        site_dirs = [r for r in python_roots() if "-packages" in r]
        for hook in editable_hooks(site_dirs):
            m.add("--ro-bind", empty, hook, make_parents=False)
        for copy in installed_copies(site_dirs):
            if os.path.isdir(copy):
                m.args += ["--perms", "0555", "--size", "4096"]
                m.add("--tmpfs", copy, make_parents=False)
            else:
                m.add("--ro-bind", empty, copy, make_parents=False)
        for dirpath, _, filenames in os.walk(workdir):
            for name in sorted(filenames):
                if name.endswith(".ipynb"):
                    m.add("--ro-bind", empty, os.path.join(dirpath, name), make_parents=False)
        for name in ("passwd", "group"):
            m.add("--ro-bind", os.path.join(mask_dir, name), "/etc/" + name)
    for name in INSIDE_FILES:
        m.add("--ro-bind", os.path.join(HERE, name), f"{INSIDE_DIR}/{name}")
    # the root bubblewrap builds the mounts on is a tmpfs of its own; read-only, so that
    # only the submission folder and the size-limited /tmp take files (an unprivileged
    # user owns that root inside its user namespace)
    cmd += m.args + ["--remount-ro", "/"]
    env = {"HOME": "/tmp", "LANG": "C.UTF-8", "PATH": f"{os.path.dirname(sys.executable)}:/usr/bin:/bin",
           "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/matplotlib", "IPYTHONDIR": "/tmp/ipython",
           "JUPYTER_RUNTIME_DIR": "/tmp/jupyter", "PYTHONNOUSERSITE": "1",
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "NNDL_SANDBOXED": "1", "NNDL_SANDBOX_GUARDED_MODULES": ",".join(policy.guarded_modules)}
    for name in ["NBGRADER_EXECUTION"] + list(policy.data_env_vars):
        if os.environ.get(name):
            env[name] = os.environ[name]
    for key, value in sorted(env.items()):
        cmd += ["--setenv", key, value]
    # the entry changes into workdir itself, after dropping root: a 0700 folder handed to
    # the sandbox uid is not open to root without capabilities
    cmd += ["--chdir", "/", "--", environment_python(), "-s", "-B",
            f"{INSIDE_DIR}/entry.py", "--workdir", workdir, *policy.limit_arguments()]
    if run_as is not None:
        cmd += ["--uid", str(run_as[0]), "--gid", str(run_as[1])]
    return cmd + ["--"] + list(kernel_args)


def unreadable_by_others(top):
    """The first path in ``top`` (itself included) that users other than its owner
    cannot read (folders: read and enter), or None."""
    import stat
    for dirpath, dirnames, filenames in os.walk(top):
        for path in [dirpath] + [os.path.join(dirpath, n) for n in filenames]:
            mode = os.stat(path).st_mode
            need = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(mode) else 0)
            if mode & need != need:
                return path
    return None


def readonly_data_paths(policy, workdir, privileged=False):
    """The host folders the policy shares read-only: ``extra_readonly_paths`` and the
    existing folders named by its ``data_env_vars``.

    A folder holding the submission (the course root, say) is refused: it would expose
    everything the sandbox hides. When grading as root, the kernel's unprivileged uid
    reads the shared folders as "others": one it could not read is refused with the fix.
    """
    paths = [os.path.realpath(p) for p in policy.extra_readonly_paths]
    for path in paths:
        if not os.path.exists(path):
            raise SandboxError(f"extra read-only path {path!r} does not exist")
    for name in policy.data_env_vars:
        value = os.environ.get(name)
        if value and os.path.exists(value):
            paths.append(os.path.realpath(value))
    for path in paths:
        if _covered(os.path.realpath(workdir), [path]):
            raise SandboxError(f"refusing to share {path} with the sandbox: it holds the "
                               "submission folder (and so, likely, the whole course)")
        blocked = unreadable_by_others(path) if privileged else None
        if blocked:
            raise SandboxError(f"the sandboxed kernel could not read {blocked} (grading as "
                               f"root, the kernel runs as an unprivileged user): make the data "
                               f"readable by all users (chmod -R o+rX {path})")
    return paths


def mask_dir_of(socket_dir):
    """Where the launcher keeps its mask files: beside the kernel's private folder (not in
    it: that one is writable from inside), so SandboxKernelManager can remove it even when
    the launcher was killed."""
    return os.path.realpath(socket_dir).rstrip("/") + "-mask"


def fresh_private_dir(path):
    """Create ``path`` empty, replacing a folder of ours left by a killed launcher."""
    import stat
    if os.path.lexists(path):
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
            raise SandboxError(f"{path} exists and is not a folder of this user")
        shutil.rmtree(path)
    os.mkdir(path, 0o700)


def write_mask_files(mask_dir, uid, gid):
    """Write the empty mask file and minimal passwd/group files for the sandbox."""
    with open(os.path.join(mask_dir, "empty"), "w"):
        pass
    with open(os.path.join(mask_dir, "passwd"), "w") as f:
        f.write(f"student:x:{uid}:{gid}:student:/tmp:/usr/sbin/nologin\n")
    with open(os.path.join(mask_dir, "group"), "w") as f:
        f.write(f"student:x:{gid}:\n")
    for name in ("empty", "passwd", "group"):
        os.chmod(os.path.join(mask_dir, name), 0o444)
    os.chmod(mask_dir, 0o755)


def chown_tree(top, uid, gid):
    """Give ``top`` and everything below it to ``uid:gid`` (symlinks themselves only)."""
    os.lchown(top, uid, gid)
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


def restore_owner(top, uid, gid):
    """Give back to ``uid:gid`` whatever in ``top`` the sandbox uid owns or created."""
    if not os.path.isdir(top):
        return
    for dirpath, dirnames, filenames in os.walk(top):
        for name in [None] + dirnames + filenames:
            path = dirpath if name is None else os.path.join(dirpath, name)
            st = os.lstat(path)
            if (st.st_uid, st.st_gid) != (uid, gid):
                os.lchown(path, uid, gid)


def refuse_workdir(workdir):
    """Raise SandboxError if ``workdir`` looks like the course root or a system folder."""
    workdir = os.path.realpath(workdir)
    for marker in ("gradebook.db", "nbgrader_config.py", "source"):
        if os.path.exists(os.path.join(workdir, marker)):
            raise SandboxError(f"refusing to make {workdir} writable: it holds {marker!r}, "
                               "so it looks like the course root, not one submission")
    if workdir in ("/", os.path.expanduser("~")) or workdir.count("/") < 2:
        raise SandboxError(f"refusing to make {workdir} writable: not a submission folder")


def relay_stderr(source, sink, limit=RELAYED_BYTES):
    """Copy the sandbox's stderr to ``sink`` line by line, each line marked as coming
    from the sandbox (so student code cannot forge the instructor's log), and at most
    ``limit`` bytes of it; the rest is read and dropped."""
    relayed = 0
    for raw in source:
        if relayed < limit:
            sink.write("[sandboxed kernel] " + raw.decode("utf-8", "replace").rstrip("\n") + "\n")
            sink.flush()
        relayed += len(raw)
    if relayed > limit:
        sink.write(f"[sandboxed kernel] ({relayed - limit} more bytes of stderr dropped)\n")


def run(connection_file, kernel_args):
    """Start the sandboxed kernel and wait for it; return its exit status."""
    with open(connection_file) as f:
        info = json.load(f)
    if info.get("transport") != "ipc":
        raise SandboxError("the sandboxed kernel has no network, so it needs ZMQ over unix "
                           "sockets: start it with grading.sandbox.kernel.SandboxKernelManager "
                           f"(got transport {info.get('transport')!r} in {connection_file})")
    socket_dir = os.path.dirname(os.path.realpath(connection_file))
    if os.path.dirname(os.path.realpath(info["ip"])) != socket_dir:
        raise SandboxError("the kernel's unix sockets must live next to its connection file")
    workdir = os.path.realpath(os.getcwd())
    refuse_workdir(workdir)
    policy = load_policy(connection_file)
    privileged = os.geteuid() == 0
    owner = os.stat(workdir)
    if privileged:
        run_as = (UID_BASE + os.getpid(), UID_BASE + os.getpid())
    else:
        run_as, (uid, gid) = None, (os.getuid(), os.getgid())
    mask_dir = mask_dir_of(socket_dir)
    fresh_private_dir(mask_dir)
    try:
        write_mask_files(mask_dir, *(run_as or (uid, gid)))
        if privileged:
            chown_tree(workdir, *run_as)
            chown_tree(socket_dir, *run_as)
        cmd = bwrap_command(workdir, socket_dir, policy, [connection_file] + kernel_args,
                            run_as=run_as, mask_dir=mask_dir, privileged=privileged)
        child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
        for signum in FORWARDED_SIGNALS:
            signal.signal(signum, lambda s, _frame: child.send_signal(s))
        relay_stderr(child.stderr, sys.stderr)
        status = child.wait()
    finally:
        if privileged:
            restore_owner(workdir, owner.st_uid, owner.st_gid)
        shutil.rmtree(mask_dir, ignore_errors=True)
    return 128 - status if status < 0 else status


def read_sysctl(name, proc_sys="/proc/sys"):
    """The value of the sysctl ``name`` (``user.max_user_namespaces``) as text, or None
    where this kernel has no such setting."""
    try:
        with open(os.path.join(proc_sys, *name.split("."))) as f:
            return f.read().strip()
    except OSError:
        return None


def userns_diagnosis(bwrap_stderr="", proc_sys="/proc/sys"):
    """Why an unprivileged user cannot make the sandbox's user namespace, or None.

    Names the host setting that forbids it and the command that allows it. Only these
    settings are read; the stderr of a failed bubblewrap only decides between them when
    none is set (AppArmor's restriction shows as a refused uid map).
    """
    if read_sysctl("user.max_user_namespaces", proc_sys) == "0":
        return ("user namespaces are disabled on this host (user.max_user_namespaces = 0): "
                "allow them with `sudo sysctl -w user.max_user_namespaces=15000` (keep it "
                "with a file in /etc/sysctl.d/)")
    if read_sysctl("kernel.unprivileged_userns_clone", proc_sys) == "0":
        return ("unprivileged user namespaces are disabled on this host "
                "(kernel.unprivileged_userns_clone = 0): allow them with "
                "`sudo sysctl -w kernel.unprivileged_userns_clone=1` (keep it with a file in "
                "/etc/sysctl.d/)")
    if read_sysctl("kernel.apparmor_restrict_unprivileged_userns", proc_sys) == "1" and (
            not bwrap_stderr or "uid map" in bwrap_stderr or "Permission denied" in bwrap_stderr
            or "Operation not permitted" in bwrap_stderr):
        return ("AppArmor restricts unprivileged user namespaces on this host "
                "(kernel.apparmor_restrict_unprivileged_userns = 1, the Ubuntu 24.04 default): "
                "give bubblewrap an AppArmor profile that allows `userns` (docs/sandbox.md "
                "shows one), or `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`")
    if "max_" in bwrap_stderr and "namespaces" in bwrap_stderr:
        return ("the host's limit on user namespaces is reached (bubblewrap: "
                f"{bwrap_stderr.strip()[-200:]}): raise user.max_user_namespaces")
    return None


def self_test(timeout=60):
    """Start a throwaway sandbox exactly as for a kernel and check that it holds.

    Returns the report printed from inside (see ``entry.self_test``); raises
    SandboxError naming what is wrong: bubblewrap missing or failing, a kernel that
    would run as root, a network interface besides loopback, the instructor's files
    visible, the submission folder not writable, or a limit not applied or not enforced.
    """
    if shutil.which(BWRAP) is None:
        raise SandboxError("bubblewrap (bwrap) is not installed")
    privileged = os.geteuid() == 0
    default = Policy()
    with tempfile.TemporaryDirectory(prefix="nndl-sandbox-selftest-") as top:
        workdir, socket_dir, mask_dir = (os.path.join(top, d) for d in ("work", "sock", "mask"))
        for d in (workdir, socket_dir, mask_dir):
            os.mkdir(d)
        run_as = (UID_BASE + os.getpid(),) * 2 if privileged else None
        write_mask_files(mask_dir, *(run_as or (os.getuid(), os.getgid())))
        if privileged:
            chown_tree(workdir, *run_as)
        cmd = bwrap_command(workdir, socket_dir, default, ["--self-test", HERE],
                            run_as=run_as, mask_dir=mask_dir, privileged=privileged)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SandboxError(f"the sandbox self-test did not finish within {timeout} s")
        if proc.returncode != 0:
            why = None if privileged else userns_diagnosis(proc.stderr)
            if why:
                raise SandboxError(f"bubblewrap cannot start as user {os.getuid()}: {why}")
            raise SandboxError(f"bubblewrap failed (exit status {proc.returncode}): "
                               f"{proc.stderr.strip()[-600:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    problems = []
    if report["uid"] == 0 or report["capabilities"]:
        problems.append("the kernel would run as root or with capabilities")
    if report["interfaces"] != ["lo"]:
        problems.append(f"the kernel would see network interfaces {report['interfaces']}")
    if report["instructor_files_visible"]:
        problems.append(f"the kernel would see {HERE}")
    if not report["workdir_writable"]:
        problems.append("the submission folder would not be writable")
    if report["writable_outside"]:
        problems.append(f"the kernel could write in {report['writable_outside']}")
    if report["forks"] >= default.process_limit:
        problems.append(f"the process limit did not hold ({report['forks']} processes forked)")
    for name in Policy.rlimits():
        value = getattr(default, name)
        if report["limits"][name] != value:
            problems.append(f"limit {name} is {report['limits'][name]}, not {value}")
    if problems:
        raise SandboxError("the sandbox self-test failed: " + "; ".join(problems))
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connection-file", required=True)
    args, kernel_args = parser.parse_known_args(argv)
    try:
        return run(args.connection_file, kernel_args)
    except (SandboxError, ValueError, OSError) as err:
        print(f"nndl sandbox: {err}", file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
