"""Tests for utils.download: verified, resumable downloads and installs from local copies.

No test reaches the internet: downloads come from a small HTTP server on 127.0.0.1
that answers Range requests, and the "official" files are tiny ones made here.
"""
import hashlib
import http.server
import subprocess
import sys
import tarfile
import threading

import numpy as np
import pytest

from utils import download
from utils.data_utils import DatasetError, load_CIFAR10, load_MNIST
from utils.download import ChecksumError, RemoteFile, fetch, install_cifar10, install_mnist, main

from dataset_files import MNIST_NAMES, make_cifar, make_mnist


def md5_of(content):
    return hashlib.md5(content).hexdigest()


class FileServer(http.server.ThreadingHTTPServer):
    """Serves `files` ({"/path": bytes}); records each request's Range header and the
    number of body bytes sent. With `honour_range` False it ignores Range headers."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), RangeHandler)
        self.files, self.ranges, self.bytes_sent, self.honour_range = {}, [], 0, True

    def url(self, path):
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class RangeHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        content = self.server.files.get(self.path)
        if content is None:
            self.send_error(404)
            return
        requested = self.headers.get("Range")
        self.server.ranges.append(requested)
        start = 0
        if requested and self.server.honour_range:
            start = int(requested.removeprefix("bytes=").rstrip("-"))
            if start >= len(content):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(content) - 1}/{len(content)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(content) - start))
        self.end_headers()
        self.wfile.write(content[start:])
        self.server.bytes_sent += len(content) - start

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    server = FileServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


CONTENT = np.random.default_rng(0).integers(0, 256, size=50_000, dtype=np.uint8).tobytes()


# ----------------------------------------------------------------------------------
# fetch: checksum and resume
# ----------------------------------------------------------------------------------

def test_fetch_downloads_and_verifies(server, tmp_path):
    server.files["/file.bin"] = CONTENT
    dest = fetch(server.url("/file.bin"), tmp_path / "file.bin", md5_of(CONTENT), progress=False)
    assert dest.read_bytes() == CONTENT
    assert server.ranges == [None]
    assert not (tmp_path / "file.bin.part").exists()


def test_fetch_resumes_from_part_file(server, tmp_path):
    server.files["/file.bin"] = CONTENT
    (tmp_path / "file.bin.part").write_bytes(CONTENT[:12_345])
    dest = fetch(server.url("/file.bin"), tmp_path / "file.bin", md5_of(CONTENT), progress=False)
    assert dest.read_bytes() == CONTENT
    assert server.ranges == ["bytes=12345-"]
    assert server.bytes_sent == len(CONTENT) - 12_345


def test_fetch_starts_over_when_server_ignores_range(server, tmp_path):
    server.files["/file.bin"] = CONTENT
    server.honour_range = False
    (tmp_path / "file.bin.part").write_bytes(CONTENT[:1000])
    dest = fetch(server.url("/file.bin"), tmp_path / "file.bin", md5_of(CONTENT), progress=False)
    assert dest.read_bytes() == CONTENT
    assert server.bytes_sent == len(CONTENT)


def test_fetch_accepts_complete_part_file(server, tmp_path):
    server.files["/file.bin"] = CONTENT
    (tmp_path / "file.bin.part").write_bytes(CONTENT)
    dest = fetch(server.url("/file.bin"), tmp_path / "file.bin", md5_of(CONTENT), progress=False)
    assert dest.read_bytes() == CONTENT and server.bytes_sent == 0


def test_checksum_mismatch_leaves_no_file(server, tmp_path):
    server.files["/file.bin"] = CONTENT
    with pytest.raises(ChecksumError, match="expected 0123"):
        fetch(server.url("/file.bin"), tmp_path / "file.bin", "0123" + "0" * 28, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_part_file_is_caught_then_downloaded_afresh(server, tmp_path):
    server.files["/file.bin"] = CONTENT
    (tmp_path / "file.bin.part").write_bytes(b"x" * 1000)
    url, dest = server.url("/file.bin"), tmp_path / "file.bin"
    with pytest.raises(ChecksumError):
        fetch(url, dest, md5_of(CONTENT), progress=False)
    assert list(tmp_path.iterdir()) == []
    assert fetch(url, dest, md5_of(CONTENT), progress=False).read_bytes() == CONTENT


def test_download_falls_back_to_next_mirror(server, tmp_path):
    server.files["/mirror2/file.bin"] = CONTENT
    remote = RemoteFile("file.bin", md5_of(CONTENT),
                        (server.url("/mirror1/file.bin"), server.url("/mirror2/file.bin")))
    assert download.download(remote, tmp_path, progress=False).read_bytes() == CONTENT


# ----------------------------------------------------------------------------------
# Installing CIFAR-10
# ----------------------------------------------------------------------------------

def make_cifar_archive(tmp_path, name="cifar-10-python.tar.gz"):
    """A tiny tar.gz laid out like the official one; returns (path, training rows)."""
    train_rows, _, _, _ = make_cifar(tmp_path / "build" / "cifar-10-batches-py")
    archive = tmp_path / name
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "build" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    return archive, train_rows


def test_install_cifar10_from_local_archive(tmp_path):
    archive, train_rows = make_cifar_archive(tmp_path)
    target = install_cifar10(tmp_path / "data", source=archive, progress=False)
    assert target == tmp_path / "data" / "cifar-10-batches-py"
    X_train, _, _, _ = load_CIFAR10(target, dtype=np.uint8)
    np.testing.assert_array_equal(X_train.reshape(len(X_train), -1), train_rows)
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["cifar-10-batches-py"]


def test_install_cifar10_downloads_verifies_and_extracts(server, tmp_path, monkeypatch):
    archive, train_rows = make_cifar_archive(tmp_path)
    server.files["/cifar.tar.gz"] = archive.read_bytes()
    monkeypatch.setattr(download, "CIFAR10_ARCHIVE", RemoteFile(
        "cifar-10-python.tar.gz", md5_of(archive.read_bytes()), (server.url("/cifar.tar.gz"),)))
    target = install_cifar10(tmp_path / "data", progress=False)
    X_train, _, _, _ = load_CIFAR10(target, dtype=np.uint8)
    np.testing.assert_array_equal(X_train.reshape(len(X_train), -1), train_rows)


def test_install_cifar10_rejects_truncated_archive(tmp_path):
    archive, _ = make_cifar_archive(tmp_path)
    archive.write_bytes(archive.read_bytes()[:-3000])
    with pytest.raises(DatasetError, match="truncated or corrupt") as error:
        install_cifar10(tmp_path / "data", source=archive, progress=False)
    assert str(archive) in str(error.value)
    assert list((tmp_path / "data").iterdir()) == []


def test_install_cifar10_rejects_archive_with_bad_batch(tmp_path):
    (tmp_path / "build" / "cifar-10-batches-py").mkdir(parents=True)
    make_cifar(tmp_path / "build" / "cifar-10-batches-py")
    (tmp_path / "build" / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"not a pickle")
    archive = tmp_path / "bad.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "build" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    with pytest.raises(DatasetError, match="data_batch_3"):
        install_cifar10(tmp_path / "data", source=archive, progress=False)
    assert list((tmp_path / "data").iterdir()) == []


# ----------------------------------------------------------------------------------
# Installing MNIST and the command line
# ----------------------------------------------------------------------------------

def test_install_mnist_from_local_folder(tmp_path):
    data = make_mnist(tmp_path / "copy")
    target = install_mnist(tmp_path / "data", source=tmp_path / "copy", progress=False)
    _, y_train, X_test, _ = load_MNIST(target, dtype=np.uint8)
    np.testing.assert_array_equal(X_test[:, 0], data["test"][0])
    np.testing.assert_array_equal(y_train, data["train"][1])


def test_install_mnist_downloads_from_mirror(server, tmp_path, monkeypatch):
    make_mnist(tmp_path / "copy")
    remotes = []
    for name in MNIST_NAMES.values():
        content = (tmp_path / "copy" / name).read_bytes()
        server.files[f"/mnist/{name}"] = content
        remotes.append(RemoteFile(name, md5_of(content), (server.url(f"/mnist/{name}"),)))
    monkeypatch.setattr(download, "MNIST_ARCHIVES", tuple(remotes))
    target = install_mnist(tmp_path / "data", progress=False)
    assert load_MNIST(target)[0].shape == (7, 1, 28, 28)


def test_install_mnist_rejects_corrupt_copy_and_installs_nothing(tmp_path):
    make_mnist(tmp_path / "copy")
    bad = tmp_path / "copy" / MNIST_NAMES["train_labels"]
    bad.write_bytes(bad.read_bytes()[:-10])
    with pytest.raises(DatasetError, match="train-labels"):
        install_mnist(tmp_path / "data", source=tmp_path / "copy", progress=False)
    assert not (tmp_path / "data" / "mnist").exists()


def test_command_installs_and_reports_errors(tmp_path, capsys):
    make_mnist(tmp_path / "copy")
    assert main(["mnist", "--from", str(tmp_path / "copy"), "--data-dir", str(tmp_path / "d"),
                 "--no-progress"]) == 0
    assert load_MNIST(tmp_path / "d" / "mnist")[1].shape == (7,)
    missing = tmp_path / "nowhere.tar.gz"
    assert main(["cifar10", "--from", str(missing), "--data-dir", str(tmp_path / "d")]) == 1
    assert str(missing) in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["all", "--from", str(tmp_path / "copy")])


def test_command_runs_as_module(tmp_path):
    make_mnist(tmp_path / "copy")
    result = subprocess.run(
        [sys.executable, "-m", "utils.download", "mnist", "--from", str(tmp_path / "copy"),
         "--data-dir", str(tmp_path / "d")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "mnist: 7 training and 3 test images" in result.stdout
