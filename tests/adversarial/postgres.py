"""A throwaway PostgreSQL server on localhost for the gradebook tests.

Uses Debian's server binaries (``apt-get install postgresql``): ``initdb`` makes a
cluster in a fresh temporary folder, ``pg_ctl`` runs it on a free port of 127.0.0.1 with
trust authentication, and everything is removed afterwards. PostgreSQL refuses to run
as root, so as root the server runs as the ``postgres`` system user (``runuser``).
"""
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile


def server_binaries():
    """Folder holding initdb and pg_ctl, or None if PostgreSQL is not installed."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.insert(0, os.path.dirname(os.path.realpath(found)))
    for folder in candidates:
        if all(os.access(os.path.join(folder, tool), os.X_OK) for tool in ("initdb", "pg_ctl")):
            return folder
    return None


def unavailable_reason():
    """Why no throwaway server can be started here, or None if it can."""
    if server_binaries() is None:
        return "PostgreSQL server binaries not installed (apt-get install postgresql)"
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return "psycopg2 not installed (pip install psycopg2-binary)"
    if os.geteuid() == 0:
        try:
            import pwd
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root but there is no 'postgres' user to run the server as"
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def throwaway_postgres(database="gradebook"):
    """Start a server, create ``database``, yield its SQLAlchemy URL, stop and delete all."""
    bindir = server_binaries()
    top = tempfile.mkdtemp(prefix="nndl-pg-")
    as_user = []
    if os.geteuid() == 0:
        import pwd
        user = pwd.getpwnam("postgres")
        os.chown(top, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = os.path.join(top, "data"), _free_port()

    def run(*cmd):
        subprocess.run(as_user + list(cmd), check=True, capture_output=True, text=True)

    try:
        run(os.path.join(bindir, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--no-sync")
        run(os.path.join(bindir, "pg_ctl"), "-D", data, "-l", os.path.join(top, "server.log"),
            "-w", "-t", "60", "-o", f"-p {port} -k {top} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start")
        import psycopg2
        with contextlib.closing(psycopg2.connect(host="127.0.0.1", port=port, user="postgres",
                                                 dbname="postgres")) as conn:
            conn.autocommit = True
            conn.cursor().execute(f'CREATE DATABASE "{database}"')
        # the driver is explicit: SQLAlchemy 2.1 would default to psycopg 3
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/{database}"
    finally:
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            subprocess.run(as_user + [os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "immediate",
                                      "-w", "stop"], capture_output=True)
        shutil.rmtree(top, ignore_errors=True)
