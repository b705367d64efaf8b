"""The formgrader grades the course with the course's plug-ins wherever Jupyter starts.

Each check runs in a fresh Python started in an unrelated folder, and does what the
formgrader's Jupyter server extension does: FormgradeExtension.initialize([]) (nbgrader's
config search), then NbGraderAPI(formgrader.coursedir, parent=formgrader) for the
Generate button. Jupyter's configuration folders are JUPYTER_CONFIG_DIR and
JUPYTER_CONFIG_PATH pointing into the test's folder, so the machine's are not used.
"""
import json
import os
import subprocess
import sys

import pytest

from grading.authoring import course

from grading.classroom import demo
from grading.classroom.jupyter_config import instructor_config, student_config, write_config

PROBE = r'''
import json, sys
from nbgrader.server_extensions.formgrader.formgrader import FormgradeExtension
from nbgrader.apps.api import NbGraderAPI
from nbgrader.converters import Autograde, GenerateAssignment
formgrader = FormgradeExtension()
formgrader.root_dir = sys.argv[1]
formgrader.initialize([])
api = NbGraderAPI(formgrader.coursedir, formgrader.authenticator, parent=formgrader)
generate = GenerateAssignment(coursedir=api.coursedir, parent=api)
autograde = Autograde(coursedir=api.coursedir, parent=api)
names = lambda items: [getattr(p, '__name__', str(p)) for p in items]
report = {"root": api.coursedir.root,
          "generate": names(generate.preprocessors),
          "autograde": names(autograde.autograde_preprocessors),
          "collector": formgrader.config.ZipCollectApp.get("collector_plugin").__name__
                       if "collector_plugin" in formgrader.config.ZipCollectApp else None}
if sys.argv[2] == "generate":
    result = api.generate_assignment("hw5")
    report["result"] = result["success"]
    report["log"] = result.get("error", "")[-3000:] + result.get("log", "")[-3000:]
print("PROBE " + json.dumps(report))
'''


def probe(cwd, config_dir, server_root, action='inspect'):
    # nbgrader runs `alembic` from PATH, as a Jupyter server of this environment has it.
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get('PATH', '')])
    env = dict(os.environ, PATH=path, JUPYTER_CONFIG_DIR=str(config_dir / 'home'),
               JUPYTER_CONFIG_PATH=str(config_dir / 'etc' / 'jupyter'))
    result = subprocess.run([sys.executable, '-c', PROBE, str(server_root), action], cwd=cwd,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith('PROBE '))
    return json.loads(line[len('PROBE '):])


@pytest.fixture
def places(tmp_path):
    home = tmp_path / 'home'
    course_dir = demo.prepare_course(home / 'nndl')
    elsewhere = home / 'notes'
    elsewhere.mkdir()
    config_dir = tmp_path / 'jupyter'
    return home, course_dir, elsewhere, config_dir


def test_installed_config_makes_the_formgrader_use_the_course_plug_ins(places):
    home, course_dir, elsewhere, config_dir = places
    write_config(instructor_config(course_dir), config_dir)
    report = probe(elsewhere, config_dir, home, action='generate')
    assert report['root'] == str(course_dir.resolve())
    assert 'CleanRelease' in report['generate']
    assert 'FaultTolerantExecute' in report['autograde']
    assert 'Execute' not in report['autograde']
    assert report['collector'] == 'LmsCollector'
    assert report['result'] is True, report['log']
    released = course_dir / 'release' / course.ASSIGNMENT / 'nndl' / 'conv_layers.py'
    assert released.read_bytes() == (course.RELEASE_DIR / 'nndl' / 'conv_layers.py').read_bytes()
    assert '### BEGIN SOLUTION\n' not in released.read_text()
    assert "raise NotImplementedError('conv_forward_naive: your code goes here')" in \
        released.read_text()


def test_without_it_a_formgrader_started_elsewhere_sees_no_course(places):
    home, course_dir, elsewhere, config_dir = places
    report = probe(elsewhere, config_dir, home, action='generate')
    assert report['root'] == str(elsewhere)
    assert 'CleanRelease' not in report['generate']
    assert report['result'] is False           # no source/hw5 there: nothing is released
    assert not (course_dir / 'release').exists() and not (elsewhere / 'release').exists()


def test_course_config_pins_the_root_to_its_own_folder(places):
    home, course_dir, elsewhere, config_dir = places
    # The root set by hand (nbgrader's JupyterHub recipe): the course's config is read too.
    (config_dir / 'home').mkdir(parents=True)
    (config_dir / 'home' / 'nbgrader_config.py').write_text(
        f"c.CourseDirectory.root = {str(course_dir)!r}\n")
    report = probe(elsewhere, config_dir, home)
    assert report['root'] == str(course_dir.resolve())
    assert 'CleanRelease' in report['generate']


def test_student_config_names_course_exchange_and_ignores_datasets(tmp_path):
    path = write_config(student_config('/srv/x/exchange'), tmp_path)
    assert path == tmp_path / 'etc' / 'jupyter' / 'nbgrader_config.py'
    from traitlets.config.loader import PyFileConfigLoader
    config = PyFileConfigLoader(path.name, str(path.parent)).load_config()
    assert config.CourseDirectory.course_id == 'nndl'
    assert config.Exchange.root == '/srv/x/exchange'
    assert 'datasets' in config.CourseDirectory.ignore
