"""Write the instructor notebooks of source/hw5 (and the module links) from grading.authoring.notebooks.

    python -m grading.authoring.build_source            # write source/hw5/*.ipynb, update the links
    python -m grading.authoring.build_source --check    # exit 1 if either is out of date

The committed notebooks in source/hw5 are what nbgrader reads; this script is how they are
edited: change the cells in grading/authoring/notebooks/, rebuild, then regenerate the release with
`nbgrader generate_assignment hw5 --force`. The tests fail if the notebooks, the links or
release/hw5 are out of date.
"""
import argparse
import sys
from pathlib import Path

import nbformat

from grading.authoring import course
from grading.authoring.notebooks import cnn, convolutional_networks, spatial_batchnorm

BUILDERS = {
    'ConvolutionalNetworks': convolutional_networks.build,
    'SpatialBatchNorm': spatial_batchnorm.build,
    'CNN': cnn.build,
}


def notebook_text(name):
    """The JSON text of notebook ``name`` as build() writes it."""
    return nbformat.writes(BUILDERS[name](), version=4) + '\n'


def build(source_dir=course.SOURCE_DIR, check=False):
    """Write (or with ``check``, compare) the notebooks; return the out-of-date paths."""
    source_dir = Path(source_dir)
    stale = []
    for name in course.NOTEBOOKS:
        path = source_dir / f"{name}.ipynb"
        text = notebook_text(name)
        if path.is_file() and path.read_text(encoding='utf-8') == text:
            continue
        stale.append(path)
        if not check:
            source_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding='utf-8')
    return stale


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m grading.authoring.build_source', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--check', action='store_true',
                        help="change nothing; exit 1 if a notebook or link is out of date")
    args = parser.parse_args(argv)
    stale = build(check=args.check)
    links = course.sync_links(check=args.check)
    for path in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {path}")
    for change in links:
        print(f"{'out of date' if args.check else 'done'}: {change}")
    if args.check and (stale or links):
        print("run: python -m grading.authoring.build_source", file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
