"""The layout of the hw5 assignment, and the links that put nndl/ and utils/ into it.

The root packages nndl/ and utils/ are the only copy of the course code. The assignment
folder source/hw5/ holds, besides its notebooks, one relative symbolic link per released
module (source/hw5/nndl/conv_layers.py -> ../../../nndl/conv_layers.py) and one to the
students' requirements.txt. nbgrader copies
the files of source/hw5 into the release and, during autograding, over the student's
files; both copies follow the links, so they write the real, current files.
(nbgrader walks folders without following links to folders, so a single link
source/hw5/nndl -> ../../nndl would be skipped silently: the links are per file.)

    python -m grading.authoring.course            # create or update the links
    python -m grading.authoring.course --check    # exit 1 if they are out of date
"""
import argparse
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = 'hw5'
SOURCE_DIR = REPO_ROOT / 'source' / ASSIGNMENT
RELEASE_DIR = REPO_ROOT / 'release' / ASSIGNMENT
NOTEBOOKS = ('ConvolutionalNetworks', 'SpatialBatchNorm', 'CNN')

PACKAGES = ('nndl', 'utils')
# The files students write; autograde keeps the student's version of these.
STUDENT_FILES = ('nndl/conv_layers.py', 'nndl/cnn.py')
# Course modules that stay with the instructor: the reference training recipe (it would
# give away the hyperparameters of the training target) and the sample-data builder.
INSTRUCTOR_ONLY = ('nndl/train.py', 'utils/make_sample.py')
# What the student's run of CNN.ipynb saves and autograde evaluates (never released, never
# overwritten by a copy that an instructor's run may have left in source/hw5).
MODEL_FILE = 'cifar10_cnn.npz'
# How that model is graded (grading/sandbox/score_model.py): its accuracy on CIFAR-10 test
# images HELDOUT_FIRST .. HELDOUT_FIRST + HELDOUT_COUNT - 1 (the notebook's own test split
# is 0..999); one point per threshold reached, one more above TARGET.
HELDOUT_FIRST, HELDOUT_COUNT = 1000, 1000
THRESHOLDS = (0.50, 0.55, 0.60)
TARGET = 0.65


def released_modules(repo_root=REPO_ROOT):
    """Paths ('nndl/conv_layers.py', ...) of the modules that go into the assignment."""
    modules = []
    for package in PACKAGES:
        for path in sorted((Path(repo_root) / package).glob('*.py')):
            relative = f"{package}/{path.name}"
            if relative not in INSTRUCTOR_ONLY:
                modules.append(relative)
    return modules


# Files of the repository root that go into the assignment too: the students' install
# list (the README's `pip install -r requirements.txt`, run in the released folder).
RELEASED_ROOT_FILES = ('requirements.txt',)


def released_files(repo_root=REPO_ROOT):
    """Paths of everything source/hw5 links to: the released modules and root files."""
    return released_modules(repo_root) + list(RELEASED_ROOT_FILES)


def link_target(relative):
    """The relative target of the link source/hw5/<relative>, e.g. ../../../nndl/cnn.py."""
    depth = len(Path('source', ASSIGNMENT, relative).parts) - 1
    return os.path.join(*(['..'] * depth), relative)


def sync_links(source_dir=SOURCE_DIR, repo_root=REPO_ROOT, check=False):
    """Make the links of ``source_dir`` match released_files().

    Creates missing links, repoints wrong ones and removes links and files in the package
    folders of ``source_dir`` that are not released modules. Returns the list of changes
    (as text); with ``check``, changes nothing and only reports them.
    """
    source_dir = Path(source_dir)
    wanted = {relative: link_target(relative) for relative in released_files(repo_root)}
    changes = []
    for package in PACKAGES:
        folder = source_dir / package
        for path in sorted(folder.glob('*')) if folder.is_dir() else []:
            relative = f"{package}/{path.name}"
            if path.name == '__pycache__':
                continue
            if relative not in wanted:
                changes.append(f"remove {relative}")
                if not check:
                    path.unlink()
    for relative, target in wanted.items():
        link = source_dir / relative
        if link.is_symlink() and os.readlink(link) == target:
            continue
        changes.append(f"link {relative} -> {target}")
        if not check:
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(target)
    return changes


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m grading.authoring.course', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--check', action='store_true',
                        help="only report what is out of date; exit 1 if anything is")
    args = parser.parse_args(argv)
    changes = sync_links(check=args.check)
    for change in changes:
        print(change)
    if args.check and changes:
        print("source/hw5 links are out of date: run python -m grading.authoring.course", file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
