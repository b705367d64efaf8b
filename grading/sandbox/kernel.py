"""The kernel manager that starts the sandboxed grading kernel.

It differs from jupyter_client's ``AsyncKernelManager`` in three ways:

* it knows one kernel only, ``nndl-sandbox`` from ``grading/sandbox/kernels`` (asking for any
  other kernel fails rather than starting an unsandboxed one);
* ZMQ runs over unix sockets (``transport="ipc"``) in a private folder made for this
  kernel, since the kernel has no network; that folder also holds the connection file
  and the sandbox policy (limits) that ``launch.py`` reads;
* after the kernel is gone it gives the student's folder back to its owner, in case
  the launcher was killed before it could (only relevant when grading as root).

Limits are traits, one per field of ``grading.sandbox.policy.Policy`` and named like it,
set in ``nbgrader_config.py`` through ``grading.sandbox.config.configure_sandbox`` or
directly, e.g. ``c.SandboxKernelManager.memory_limit = 2 * 1024**3``.
"""

import dataclasses
import os
import shutil
import tempfile

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager, KernelManager
from traitlets import Integer, List, Unicode, default

from grading.sandbox.launch import mask_dir_of, restore_owner
from grading.sandbox.policy import POLICY_FILENAME, Policy

KERNELS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels")
KERNEL_NAME = "nndl-sandbox"


def policy_traits():
    """A configurable trait per field of Policy, of the same name, default and help."""
    traits = {}
    for field in dataclasses.fields(Policy):
        if isinstance(field.default, int):
            trait = Integer(field.default, help=field.metadata["help"])
        else:
            trait = List(Unicode(), list(field.default), help=field.metadata["help"])
        traits[field.name] = trait.tag(config=True)
    return traits


class SandboxKernelManager(AsyncKernelManager):
    """Start ``nndl-sandbox`` kernels, each with a private folder for its sockets."""

    # memory_limit, cpu_time_limit, ...: Policy's fields, defined there once
    locals().update(policy_traits())

    _run_dir = None
    _workdir_owner = None

    @default("kernel_name")
    def _default_kernel_name(self):
        return KERNEL_NAME

    @default("kernel_spec_manager")
    def _default_kernel_spec_manager(self):
        return KernelSpecManager(parent=self, kernel_dirs=[KERNELS_DIR])

    def policy(self):
        """The Policy of these traits, handed to ``launch.py`` in the policy file."""
        return Policy(**{name: getattr(self, name) for name in Policy.names()})

    def _prepare_run_dir(self):
        self._run_dir = tempfile.mkdtemp(prefix="nndl-sandbox-")
        self.transport = "ipc"
        self.ip = os.path.join(self._run_dir, "kernel")
        self.connection_file = os.path.join(self._run_dir, "kernel.json")
        self.policy().save(os.path.join(self._run_dir, POLICY_FILENAME))

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
