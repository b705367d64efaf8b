"""The kernel manager that starts the sandboxed grading kernel.

It differs from jupyter_client's ``AsyncKernelManager`` in three ways:

* it knows one kernel only, ``nndl-sandbox`` from ``grading/kernels`` (asking for any
  other kernel fails rather than starting an unsandboxed one);
* ZMQ runs over unix sockets (``transport="ipc"``) in a private folder made for this
  kernel, since the kernel has no network; that folder also holds the connection file
  and the sandbox policy (limits) that ``sandbox_launch.py`` reads;
* after the kernel is gone it gives the student's folder back to its owner, in case
  the launcher was killed before it could (only relevant when grading as root).

Limits are traits, set in ``nbgrader_config.py`` through ``grading.sandbox.configure_sandbox``
or directly, e.g. ``c.SandboxKernelManager.memory_limit = 2 * 1024**3``.
"""

import json
import os
import shutil
import tempfile

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager, KernelManager
from traitlets import Integer, List, Unicode, default

from .sandbox_launch import DEFAULT_POLICY, POLICY_FILENAME, mask_dir_of, restore_owner

KERNELS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels")
KERNEL_NAME = "nndl-sandbox"


class SandboxKernelManager(AsyncKernelManager):
    """Start ``nndl-sandbox`` kernels, each with a private folder for its sockets."""

    memory_limit = Integer(DEFAULT_POLICY["memory_bytes"],
                           help="Address-space limit of the kernel, bytes.").tag(config=True)
    cpu_time_limit = Integer(DEFAULT_POLICY["cpu_seconds"],
                             help="CPU seconds the kernel may use in all.").tag(config=True)
    process_limit = Integer(DEFAULT_POLICY["processes"],
                            help="Processes and threads the kernel may have.").tag(config=True)
    file_size_limit = Integer(DEFAULT_POLICY["file_bytes"],
                              help="Largest file the kernel may write, bytes.").tag(config=True)
    open_files_limit = Integer(DEFAULT_POLICY["open_files"],
                               help="File descriptors the kernel may hold.").tag(config=True)
    tmp_size = Integer(DEFAULT_POLICY["tmp_bytes"],
                       help="Size of the kernel's private /tmp, bytes.").tag(config=True)
    extra_readonly_paths = List(Unicode(), help=(
        "Host paths the graded notebooks may read (mounted read-only at the same path), "
        "e.g. a data set folder.")).tag(config=True)
    data_env_vars = List(Unicode(), help=(
        "Environment variables naming data folders (e.g. NNDL_DATA): passed on to the kernel, "
        "and the folder each names is mounted read-only.")).tag(config=True)
    guarded_modules = List(Unicode(), help=(
        "Modules of the assignment folder that sandbox_guard keeps intact besides numpy "
        "and builtins, e.g. the checks the test cells call.")).tag(config=True)

    _run_dir = None
    _workdir_owner = None

    @default("kernel_name")
    def _default_kernel_name(self):
        return KERNEL_NAME

    @default("kernel_spec_manager")
    def _default_kernel_spec_manager(self):
        return KernelSpecManager(parent=self, kernel_dirs=[KERNELS_DIR])

    def policy(self):
        """The limits handed to ``sandbox_launch.py``, keyed as its ``DEFAULT_POLICY``."""
        return {"memory_bytes": self.memory_limit, "cpu_seconds": self.cpu_time_limit,
                "processes": self.process_limit, "file_bytes": self.file_size_limit,
                "open_files": self.open_files_limit, "tmp_bytes": self.tmp_size,
                "extra_readonly_paths": list(self.extra_readonly_paths),
                "guarded_modules": list(self.guarded_modules),
                "data_env_vars": list(self.data_env_vars)}

    def _prepare_run_dir(self):
        self._run_dir = tempfile.mkdtemp(prefix="nndl-sandbox-")
        self.transport = "ipc"
        self.ip = os.path.join(self._run_dir, "kernel")
        self.connection_file = os.path.join(self._run_dir, "kernel.json")
        with open(os.path.join(self._run_dir, POLICY_FILENAME), "w") as f:
            json.dump(self.policy(), f)

    async def _async_pre_start_kernel(self, **kw):
        if self._run_dir is None:
            self._prepare_run_dir()
        workdir = os.path.realpath(kw.get("cwd") or os.getcwd())
        st = os.stat(workdir)
        if self._workdir_owner is None:
            self._workdir_owner = (workdir, st.st_uid, st.st_gid)
        return await super()._async_pre_start_kernel(**kw)

    pre_start_kernel = _async_pre_start_kernel

    async def _async_cleanup_resources(self, restart=False):
        await KernelManager._async_cleanup_resources(self, restart=restart)
        if self._workdir_owner is not None and os.geteuid() == 0:
            restore_owner(*self._workdir_owner)
        if not restart and self._run_dir is not None:
            shutil.rmtree(self._run_dir, ignore_errors=True)
            shutil.rmtree(mask_dir_of(self._run_dir), ignore_errors=True)
            self._run_dir = None

    cleanup_resources = _async_cleanup_resources
