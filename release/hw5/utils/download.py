"""Download CIFAR-10 and MNIST (or install them from a local copy) into the data directory.

    python -m utils.download cifar10 [--data-dir DIR]
    python -m utils.download mnist   [--data-dir DIR]
    python -m utils.download all     [--data-dir DIR]

    # machines without internet: install from a copy already on disk
    python -m utils.download cifar10 --from /path/to/cifar-10-python.tar.gz
    python -m utils.download mnist   --from /path/to/folder/with/the/four/idx/gz/files

DIR defaults to $NNDL_DATA, else a per-user folder outside every assignment folder,
`$XDG_CACHE_HOME/nndl` (`~/.cache/nndl`), so that a submission never carries the data;
the loaders of utils.data_utils look there too (utils.data_utils.resolve_data_dir and
data_search_dirs). Downloads come from the official sources and are
checked against their published MD5 checksums. An interrupted download is kept as
`<name>.part` and resumed (HTTP Range request) when the command runs again. Nothing
is put in place until it has been verified: a failed install leaves no unchecked file
where the loaders look.
"""
import argparse
import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from utils.data_utils import (CIFAR10_DIRNAME, CIFAR10_TEST_BATCH, CIFAR10_TRAIN_BATCHES,
                              DATA_DIR_ENV_VAR, DEFAULT_DATA_DIR, MNIST_DIRNAME, MNIST_FILES,
                              DatasetError, load_CIFAR10, load_MNIST, resolve_data_dir)


@dataclass(frozen=True)
class RemoteFile:
    """A file to download: its name, its published MD5 and the URLs to try in order."""
    name: str
    md5: str
    urls: tuple


CIFAR10_ARCHIVE = RemoteFile(
    "cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a",
    ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",))

MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/")
_MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_ARCHIVES = tuple(RemoteFile(name, _MNIST_MD5[name], tuple(m + name for m in MNIST_MIRRORS))
                       for name in MNIST_FILES.values())

OFFICIAL_SIZES = {"cifar10": (50000, 10000), "mnist": (60000, 10000)}


class ChecksumError(DatasetError):
    """A downloaded file does not match its published checksum."""


def md5sum(path, chunk_size=1 << 20):
    """Hex MD5 digest of the file at `path`."""
    digest = hashlib.md5()
    with open(path, "rb") as file:
        while chunk := file.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


# ----------------------------------------------------------------------------------
# Resumable, verified download
# ----------------------------------------------------------------------------------

def fetch(url, dest, md5, progress=True, timeout=60, chunk_size=1 << 16):
    """Download `url` to `dest`, resuming from `dest.part`, and verify its MD5.

    Bytes arrive in `<dest>.part`. If that file already exists, only the rest is
    requested (HTTP Range); a server that ignores the range sends everything and the
    download starts over. When complete, the part file is checked against `md5`:
    on a match it is renamed to `dest`, otherwise it is deleted and ChecksumError is
    raised, so a bad file is never left in place. A network error leaves the part
    file for the next attempt. Returns `dest` as a Path.
    """
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                          timeout=timeout)
    except urllib.error.HTTPError as err:
        if not (err.code == 416 and offset):  # 416: nothing after offset, part is complete
            raise
        err.close()
    else:
        with response:
            content_range = response.headers.get("Content-Range", "")
            if offset and not (response.status == 206
                               and content_range.startswith(f"bytes {offset}-")):
                offset = 0  # the server sent the whole file: start over
            total = offset + response.length if response.length is not None else None
            with open(part, "ab" if offset else "wb") as out, \
                    tqdm(total=total, initial=offset, unit="B", unit_scale=True,
                         desc=dest.name, disable=not progress) as bar:
                while chunk := response.read(chunk_size):
                    out.write(chunk)
                    bar.update(len(chunk))
    actual = md5sum(part)
    if actual != md5:
        part.unlink()
        raise ChecksumError(f"{url}: downloaded file has MD5 {actual}, expected {md5}; "
                            f"deleted it, run the command again to download it afresh")
    os.replace(part, dest)
    return dest


def download(remote, folder, progress=True):
    """Make sure `folder/remote.name` exists with the published MD5, downloading it
    from the first of `remote.urls` that works. Returns its Path."""
    dest = Path(folder) / remote.name
    if dest.is_file() and md5sum(dest) == remote.md5:
        return dest
    errors = []
    for url in remote.urls:
        try:
            return fetch(url, dest, remote.md5, progress=progress)
        except (OSError, ChecksumError) as err:  # URLError and timeouts are OSErrors
            errors.append(f"  {url}: {err}")
    raise OSError(f"could not download {remote.name}:\n" + "\n".join(errors))


# ----------------------------------------------------------------------------------
# Installing the datasets
# ----------------------------------------------------------------------------------

def _report_sizes(dataset, folder, n_train, n_test):
    """Print what was installed, warning if the sizes are not the official ones."""
    print(f"{dataset}: {n_train} training and {n_test} test images in {folder}")
    if (n_train, n_test) != OFFICIAL_SIZES[dataset]:
        official_train, official_test = OFFICIAL_SIZES[dataset]
        print(f"warning: the official {dataset} has {official_train} training and "
              f"{official_test} test images", file=sys.stderr)


def _extract_cifar_archive(archive, into):
    """Extract the cifar-10-batches-py/ folder of the tar.gz `archive` into `into`."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = [member for member in tar.getmembers()
                       if Path(member.name).parts[:1] == (CIFAR10_DIRNAME,)]
            if not members:
                raise DatasetError(f"{archive}: no {CIFAR10_DIRNAME}/ folder in the archive")
            for member in members:
                if ".." in Path(member.name).parts or not (member.isfile() or member.isdir()):
                    raise DatasetError(f"{archive}: refusing to extract {member.name!r}")
            # The "data" filter (Python >= 3.11.4) also rejects links and odd permissions.
            safety = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(into, members=members, **safety)
    except (tarfile.TarError, EOFError, zlib.error) as err:
        raise DatasetError(f"{archive}: cannot extract, the archive is truncated or corrupt "
                           f"({type(err).__name__}: {err})") from err


def _stage_cifar10(source, staging):
    """Put the CIFAR-10 batches from `source` (a tar.gz or a folder) into
    staging/cifar-10-batches-py/ and return that folder.
    Raises DatasetError naming `source` if a batch file is missing."""
    staged = staging / CIFAR10_DIRNAME
    if source.is_dir():
        batches = source / CIFAR10_DIRNAME if (source / CIFAR10_DIRNAME).is_dir() else source
        staged.mkdir()
        for name in (*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH, "batches.meta"):
            if (batches / name).is_file():
                shutil.copy2(batches / name, staged / name)
    else:
        _extract_cifar_archive(source, staging)
    for name in (*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH):
        if not (staged / name).is_file():
            raise DatasetError(f"{source}: has no {CIFAR10_DIRNAME}/{name}")
    return staged


def install_cifar10(data_dir=None, source=None, progress=True, force=False):
    """Install CIFAR-10 as <data_dir>/cifar-10-batches-py/ and return that Path.

    source: None to download the official archive (kept in data_dir), or a local
        cifar-10-python.tar.gz, or a local cifar-10-batches-py folder. A local archive
        whose MD5 differs from the official one is accepted if its batches load.
    force: reinstall even if a loadable copy is already there.
    The batches are unpacked into a temporary folder and checked with load_CIFAR10
    before they replace anything; a corrupt copy raises DatasetError.
    """
    data_dir = resolve_data_dir(data_dir)
    target = data_dir / CIFAR10_DIRNAME
    if not force and _loads(load_CIFAR10, target):
        print(f"cifar10: already installed in {target} (use --force to reinstall)")
        return target
    if source is not None and not Path(source).exists():
        raise FileNotFoundError(f"{source} does not exist")
    data_dir.mkdir(parents=True, exist_ok=True)
    if source is None:
        source = download(CIFAR10_ARCHIVE, data_dir, progress)
    elif Path(source).is_file() and md5sum(source) != CIFAR10_ARCHIVE.md5:
        print(f"note: {source} differs from the official archive (MD5 "
              f"{CIFAR10_ARCHIVE.md5}); checking its contents instead")
    with tempfile.TemporaryDirectory(prefix=".cifar10-", dir=data_dir) as staging:
        staged = _stage_cifar10(Path(source), Path(staging))
        try:
            X_train, _, X_test, _ = load_CIFAR10(staged, dtype="uint8")
        except DatasetError as err:
            raise DatasetError(f"{source} holds a bad batch: {err}") from err
        if target.exists():
            shutil.rmtree(target)
        os.replace(staged, target)
    _report_sizes("cifar10", target, len(X_train), len(X_test))
    return target


def install_mnist(data_dir=None, source=None, progress=True, force=False):
    """Install MNIST as <data_dir>/mnist/ (the four IDX .gz files) and return that Path.

    source: None to download the four files from the usual mirrors (MD5-checked), or
        a local folder holding them. Local files need not match the official MD5s
        (the .gz wrapper may differ); their decompressed contents are checked instead.
    force: reinstall even if a loadable copy is already there.
    Files are checked with load_MNIST before they replace anything.
    """
    data_dir = resolve_data_dir(data_dir)
    target = data_dir / MNIST_DIRNAME
    if not force and _loads(load_MNIST, target):
        print(f"mnist: already installed in {target} (use --force to reinstall)")
        return target
    if source is None:
        target.mkdir(parents=True, exist_ok=True)
        for remote in MNIST_ARCHIVES:
            download(remote, target, progress)
        X_train, _, X_test, _ = load_MNIST(target, dtype="uint8")
    else:
        source = Path(source)
        X_train, _, X_test, _ = load_MNIST(source, dtype="uint8")  # checks before copying
        target.mkdir(parents=True, exist_ok=True)
        for remote in MNIST_ARCHIVES:
            if md5sum(source / remote.name) != remote.md5:
                print(f"note: {source / remote.name} differs from the official .gz "
                      f"(MD5 {remote.md5}); its decompressed contents were checked")
            staged = target / (remote.name + ".tmp")
            shutil.copyfile(source / remote.name, staged)
            os.replace(staged, target / remote.name)
    _report_sizes("mnist", target, len(X_train), len(X_test))
    return target


def _loads(loader, folder):
    """True if `loader(folder)` reads the dataset without error."""
    try:
        loader(folder, dtype="uint8")
    except (FileNotFoundError, DatasetError):
        return False
    return True


# ----------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------

INSTALLERS = {"cifar10": install_cifar10, "mnist": install_mnist}


def main(argv=None):
    """Run the command line; returns the exit status (0 on success, 1 on failure)."""
    parser = argparse.ArgumentParser(
        prog="python -m utils.download",
        description="Download CIFAR-10 and/or MNIST (checksummed, resumable), "
                    "or install them from a local copy.")
    parser.add_argument("dataset", choices=[*INSTALLERS, "all"])
    parser.add_argument("--data-dir", metavar="DIR",
                        help=f"where to install (default: ${DATA_DIR_ENV_VAR}, "
                             f"else {DEFAULT_DATA_DIR})")
    parser.add_argument("--from", dest="source", metavar="PATH",
                        help="install from a local copy instead of downloading: "
                             "cifar-10-python.tar.gz (or a cifar-10-batches-py folder) "
                             "for cifar10, the folder with the four IDX .gz files for mnist")
    parser.add_argument("--force", action="store_true",
                        help="reinstall even if the dataset is already there")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args(argv)
    if args.dataset == "all" and args.source:
        parser.error("--from installs one dataset: name cifar10 or mnist")

    names = list(INSTALLERS) if args.dataset == "all" else [args.dataset]
    try:
        for name in names:
            INSTALLERS[name](args.data_dir, source=args.source,
                             progress=not args.no_progress, force=args.force)
    except (DatasetError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"download failed: {err}\nPartial downloads are kept as .part files: "
              f"run the same command again to resume.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
