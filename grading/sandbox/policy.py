"""The sandbox policy: every limit and shared path of a grading kernel, defined once.

One field of ``Policy`` per setting, and its name is the setting's name everywhere:

* the trait of ``grading.sandbox.kernel.SandboxKernelManager``
  (``c.SandboxKernelManager.memory_limit = 2 * 1024**3``) and the keyword argument of
  ``grading.sandbox.config.configure_sandbox``;
* the key in the policy file the kernel manager writes beside the connection file
  (``sandbox-policy.json``), which ``launch.py`` reads;
* for the limits set with ``setrlimit``, the command-line flag ``launch.py`` gives
  ``entry.py`` inside the sandbox (``--memory-limit``), and the ``RLIMIT_*`` it sets.

Standard library only: ``launch.py`` runs it outside the course's environment and
``entry.py`` imports it inside the sandbox, where it is bound beside it.
"""
import dataclasses
import json

POLICY_FILENAME = "sandbox-policy.json"


def _limit(default, rlimit, help):
    return dataclasses.field(default=default, metadata={"rlimit": rlimit, "help": help})


def _setting(default, help):
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass(frozen=True)
class Policy:
    """What one sandboxed grading kernel may use and see (all fields have defaults)."""

    memory_limit: int = _limit(4 * 1024**3, "RLIMIT_AS",
                               "Address-space limit of the kernel, bytes.")
    cpu_time_limit: int = _limit(600, "RLIMIT_CPU",
                                 "CPU seconds the kernel may use in all (every cell together).")
    process_limit: int = _limit(64, "RLIMIT_NPROC",
                                "Processes and threads the kernel may have (a kernel has about 11).")
    file_size_limit: int = _limit(1024**3, "RLIMIT_FSIZE",
                                  "Largest file the kernel may write, bytes.")
    open_files_limit: int = _limit(1024, "RLIMIT_NOFILE",
                                   "File descriptors the kernel may hold.")
    tmp_size: int = _setting(512 * 1024**2, "Size of the kernel's private /tmp, bytes.")
    extra_readonly_paths: tuple = _setting((), (
        "Host paths the graded notebooks may read (mounted read-only at the same path), "
        "e.g. a data set folder."))
    data_env_vars: tuple = _setting((), (
        "Environment variables naming data folders (e.g. NNDL_DATA): passed on to the "
        "kernel, and the folder each names is mounted read-only."))
    guarded_modules: tuple = _setting((), (
        "Modules of the assignment folder that the guard keeps intact besides numpy and "
        "builtins, e.g. the checks the test cells call."))

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(field.default, int):
                if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                    raise ValueError(f"sandbox setting {field.name} must be a positive "
                                     f"integer, not {value!r}")
            else:
                if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                    raise ValueError(f"sandbox setting {field.name} must be a list of "
                                     f"strings, not {value!r}")
                object.__setattr__(self, field.name, tuple(value))

    @classmethod
    def names(cls):
        """Every setting's name, in definition order."""
        return tuple(field.name for field in dataclasses.fields(cls))

    @classmethod
    def help(cls, name):
        return next(f.metadata["help"] for f in dataclasses.fields(cls) if f.name == name)

    @classmethod
    def rlimits(cls):
        """``{name: 'RLIMIT_...'}`` of the settings applied with setrlimit."""
        return {f.name: f.metadata["rlimit"] for f in dataclasses.fields(cls)
                if "rlimit" in f.metadata}

    @staticmethod
    def flag(name):
        """The command-line flag of a limit: ``memory_limit`` -> ``--memory-limit``."""
        return "--" + name.replace("_", "-")

    @classmethod
    def from_mapping(cls, mapping, source="the sandbox settings"):
        """A Policy from ``{name: value}``; an unknown name raises ValueError naming the
        known ones, so that a typo in the course configuration is not silently ignored."""
        unknown = sorted(set(mapping) - set(cls.names()))
        if unknown:
            raise ValueError(f"unknown sandbox settings {unknown} in {source}; "
                             f"known: {list(cls.names())}")
        return cls(**mapping)

    def save(self, path):
        with open(path, "w") as f:
            json.dump(dataclasses.asdict(self), f)

    @classmethod
    def load(cls, path):
        with open(path) as f:
            return cls.from_mapping(json.load(f), path)

    def limit_arguments(self):
        """``['--memory-limit', '4294967296', ...]``: the limits, as entry.py takes them."""
        args = []
        for name in self.rlimits():
            args += [self.flag(name), str(getattr(self, name))]
        return args

    @classmethod
    def add_limit_arguments(cls, parser):
        """Add every limit's flag (required, an integer) to an argparse parser; the parsed
        value lands on the attribute of the setting's name."""
        for name in cls.rlimits():
            parser.add_argument(cls.flag(name), dest=name, type=int, required=True,
                                help=cls.help(name))
