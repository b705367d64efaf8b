"""The student's path, tested the way students work: JupyterLab in a real browser.

A scratch copy of release/hw5, a fresh ``python -m venv`` with only
``pip install -r requirements.txt`` (made once per test session), ``jupyter lab`` on
127.0.0.1, and Debian's Chromium driven by Playwright for Python. For each notebook:

- complete: the instructor's solution copied in (nndl/conv_layers.py and nndl/cnn.py, and
  the solution cells of source/hw5); Run All, then every visible test prints its pass line
  and no cell shows an error; nbgrader's Validate button says the notebook passes;
- untouched release: Run All stops at the first test cell with the NotImplementedError
  of the stub it calls; Validate lists every test cell as failed.

Screenshots and the seconds of each Run All and Validate go to the folder printed at the
start (``browser-student/`` under pytest's base temporary directory). The tests skip, with
the reason, where Playwright or /usr/bin/chromium (Debian's ``chromium``, installed by the
system packages, scripts/install-system-deps.sh) is missing. docs/students.md records the timings.
"""
import ast
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from grading.authoring.course import NOTEBOOKS, RELEASE_DIR, REPO_ROOT, SOURCE_DIR, STUDENT_FILES

sync_api = pytest.importorskip('playwright.sync_api', reason='Playwright for Python is not '
                               'installed (pip install -e ".[dev]")')

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip("no chromium: the browser tests need Debian's chromium package "
                "(installed by bash scripts/install-system-deps.sh)", allow_module_level=True)

pytestmark = pytest.mark.browser

# Playwright cannot download its own browser here: it drives the system Chromium. Without
# the background-networking flags Chromium's own connections get refused many at a time.
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                 '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']
# Longest wait for one Run All or one Validate (CNN.ipynb trains three small networks).
RUN_TIMEOUT_S = 900
# What the tests' student gets: the release's CNN.ipynb trains on data from $NNDL_DATA
# (utils/data_utils.py); a student would download CIFAR-10 and MNIST, the test gives a copy
# of the repository's sample in the same formats.
SAMPLE_DATA = REPO_ROOT / 'data_sample'
# Lab settings of the test's own JUPYTER_CONFIG_DIR: no news or update check (no network);
# every cell in the page, so the test reads them all (by default JupyterLab attaches the
# cells of a long notebook as they scroll into view).
LAB_SETTINGS = {'@jupyterlab/apputils-extension/notification.jupyterlab-settings':
                {'fetchNews': 'false', 'checkForUpdates': False},
                '@jupyterlab/notebook-extension/tracker.jupyterlab-settings':
                {'windowingMode': 'none'}}


# ------------------------------------------------------------------------------------------
# The student's machine: venv, folders, JupyterLab, Chromium
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope='session')
def output_dir(tmp_path_factory):
    """Where screenshots and timings go (printed so that CI logs show it)."""
    folder = tmp_path_factory.getbasetemp() / 'browser-student'
    folder.mkdir(exist_ok=True)
    print(f"\nbrowser tests: screenshots and timings in {folder}")
    return folder


def record_seconds(output_dir, key, seconds):
    """Add ``key: seconds`` to timings.json in the output folder."""
    path = output_dir / 'timings.json'
    timings = json.loads(path.read_text()) if path.exists() else {}
    timings[key] = round(seconds, 1)
    path.write_text(json.dumps(timings, indent=2) + '\n')


def student_env(home):
    """The environment of the student's processes: no variable of the instructor's venv,
    Jupyter's and IPython's folders under ``home``, the sample data as NNDL_DATA."""
    env = {key: value for key, value in os.environ.items()
           if key not in ('VIRTUAL_ENV', 'PYTHONPATH', 'PYTHONHOME', 'OPENBLAS_NUM_THREADS',
                          'OMP_NUM_THREADS') and not key.startswith(('JUPYTER', 'NBGRADER'))}
    for variable, name in [('JUPYTER_CONFIG_DIR', 'jupyter-config'),
                           ('JUPYTER_DATA_DIR', 'jupyter-data'),
                           ('JUPYTER_RUNTIME_DIR', 'jupyter-runtime'),
                           ('IPYTHONDIR', 'ipython'), ('MPLCONFIGDIR', 'matplotlib')]:
        env[variable] = str(home / name)
    env['NNDL_DATA'] = str(home / 'data')
    return env


@pytest.fixture(scope='session')
def student_venv(tmp_path_factory, output_dir):
    """A fresh ``python -m venv`` with only the release's requirements.txt installed."""
    venv = tmp_path_factory.mktemp('student') / 'venv'
    start = time.perf_counter()
    subprocess.run([sys.executable, '-m', 'venv', str(venv)], check=True)
    env = student_env(venv.parent)
    subprocess.run([str(venv / 'bin' / 'python'), '-m', 'pip', 'install', '--quiet',
                    '--disable-pip-version-check', '-r', str(RELEASE_DIR / 'requirements.txt')],
                   check=True, env=env)
    record_seconds(output_dir, 'venv: python -m venv + pip install -r requirements.txt',
                   time.perf_counter() - start)
    return venv


def strip_solution_markers(source):
    """A solution cell's source without its ### BEGIN/END SOLUTION lines."""
    return '\n'.join(line for line in source.splitlines()
                     if line.strip() not in ('### BEGIN SOLUTION', '### END SOLUTION'))


def complete_the_release(folder):
    """Write the instructor's solution into a copy of the release, as a student would."""
    for relative in STUDENT_FILES:
        shutil.copyfile(REPO_ROOT / relative, folder / relative)
    for name in NOTEBOOKS:
        solutions = {cell.metadata.nbgrader['grade_id']: cell.source
                     for cell in nbformat.read(SOURCE_DIR / f'{name}.ipynb', as_version=4).cells
                     if cell.metadata.get('nbgrader', {}).get('solution')}
        path = folder / f'{name}.ipynb'
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            grade_id = cell.metadata.get('nbgrader', {}).get('grade_id')
            if grade_id in solutions:
                cell.source = strip_solution_markers(solutions[grade_id])
        nbformat.write(nb, path)


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class Lab:
    """A running ``jupyter lab`` whose root holds ``complete/`` and ``untouched/``."""

    def __init__(self, root, port, token):
        self.root, self.port, self.token = root, port, token
        self.base = f'http://127.0.0.1:{port}'

    def api(self, method, path):
        request = urllib.request.Request(f'{self.base}{path}', method=method,
                                         headers={'Authorization': f'token {self.token}'})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def lab_url(self):
        """JupyterLab in a workspace with nothing open."""
        return f'{self.base}/lab/workspaces/student?reset&token={self.token}'

    def shut_down_kernels(self):
        for session in self.api('GET', '/api/sessions'):
            self.api('DELETE', f"/api/sessions/{session['id']}")


@pytest.fixture(scope='session')
def lab(student_venv, tmp_path_factory):
    """``jupyter lab`` of the student venv on 127.0.0.1 with a token; stopped at the end."""
    home = student_venv.parent
    root = tmp_path_factory.mktemp('student-work')
    for case in ('complete', 'untouched'):
        shutil.copytree(RELEASE_DIR, root / case)
    complete_the_release(root / 'complete')
    shutil.copytree(SAMPLE_DATA, home / 'data', dirs_exist_ok=True)
    env = student_env(home)
    for relative, settings in LAB_SETTINGS.items():
        path = Path(env['JUPYTER_CONFIG_DIR']) / 'lab' / 'user-settings' / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    port, token = free_port(), secrets.token_hex(16)
    command = [str(student_venv / 'bin' / 'jupyter'), 'lab', '--no-browser',
               '--ip=127.0.0.1', f'--port={port}', f'--IdentityProvider.token={token}',
               f'--ServerApp.root_dir={root}']
    if os.geteuid() == 0:
        command.append('--allow-root')   # CI containers run as root
    log_path = home / 'jupyter-lab.log'
    with open(log_path, 'wb') as log:
        server = subprocess.Popen(command, cwd=root, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
    lab = Lab(root, port, token)
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                pytest.fail(f"jupyter lab exited with {server.returncode}:\n"
                            f"{log_path.read_text()[-3000:]}")
            try:
                lab.api('GET', '/api/status')
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer within 120 s (log: {log_path})")
                time.sleep(0.5)
        yield lab
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope='session')
def chromium():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope='session')
def lab_page(chromium, lab):
    """One JupyterLab window for all tests (loading JupyterLab takes seconds)."""
    page = chromium.new_page(viewport={'width': 1400, 'height': 1000})
    page.goto(lab.lab_url())
    page.wait_for_selector('.jp-DirListing-content', timeout=120_000)
    yield page
    page.close()


@pytest.fixture
def page(lab_page, lab):
    """The JupyterLab window; afterwards its notebooks closed and their kernels shut down."""
    yield lab_page
    lab.shut_down_kernels()
    for button in lab_page.locator('.jp-Dialog .jp-mod-accept').all():
        button.click()
    lab_page.locator('.lm-MenuBar-item', has_text='File').first.click()
    lab_page.get_by_role('menuitem', name='Close All Tabs', exact=True).click()
    discard = lab_page.locator('.jp-Dialog button', has_text='Discard')
    if discard.count():
        discard.first.click()


# ------------------------------------------------------------------------------------------
# What the student does and sees
# ------------------------------------------------------------------------------------------

# The notebook on show (JupyterLab hides the panels of other tabs).
ACTIVE = '.jp-NotebookPanel:not(.lm-mod-hidden)'

# Per cell of the open notebook: type, the input prompt ('[ ]:', '[*]:', '[3]:') and each
# output's MIME type and text.
READ_CELLS = '''() => Array.from(document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')).map(cell => ({
  code: cell.classList.contains('jp-CodeCell'),
  prompt: (cell.querySelector('.jp-InputPrompt') || {}).textContent || '',
  outputs: Array.from(cell.querySelectorAll('.jp-OutputArea-output')).map(output => ({
    mime: output.getAttribute('data-mime-type') || '', text: output.textContent}))}))'''

# Run All has started: some cell is queued, running or done.
RUN_STARTED = '''() => Array.from(document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')).some(
    p => /\\[(\\*|\\d+)\\]/.test(p.textContent))'''

# Run All has finished: the kernel is idle and no cell is queued or running ('[*]').
RUN_FINISHED = '''() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const status = panel.querySelector('.jp-Notebook-ExecutionIndicator');
  const prompts = Array.from(panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt'));
  return status && status.getAttribute('data-status') === 'idle'
      && prompts.some(p => /\\[\\d+\\]/.test(p.textContent))
      && !prompts.some(p => p.textContent.includes('*'));
}'''

# The cells of the Validate dialog: [{source, error}] per failed cell, and its whole text.
READ_VALIDATION = '''() => {
  const message = document.querySelector('#validation-message');
  const failed = [];
  const children = Array.from(message.children);
  children.forEach((child, i) => {
    if (child.textContent === 'The following cell failed:')
      failed.push({source: children[i + 1].innerText, error: children[i + 2].innerText});
  });
  return {text: message.textContent, classes: message.className, failed: failed};
}'''


def is_error(output):
    """An exception's traceback (stream output on stderr, e.g. a warning, is not one)."""
    return (output['mime'] == 'application/vnd.jupyter.stderr'
            and 'Traceback (most recent call last)' in output['text'])


def graded_cells(nb):
    """{cell index: cell} of the notebook's graded cells: test cells and written answers."""
    return {index: cell for index, cell in enumerate(nb.cells)
            if cell.metadata.get('nbgrader', {}).get('grade')}


def graded_code_cells(nb):
    """{cell index: cell} of the notebook's test cells."""
    return {index: cell for index, cell in graded_cells(nb).items() if cell.cell_type == 'code'}


def words(text):
    """``text`` with its whitespace normalized (the dialog shows sources as HTML text)."""
    return ' '.join(text.split())


def pass_line(source):
    """What a test cell prints when its visible checks pass: the text its last print starts
    with (``print("visible test passed")``, ``print("the saved model:", ...)``)."""
    last = ast.parse(source).body[-1]
    call = last.value if isinstance(last, ast.Expr) else None
    assert (isinstance(call, ast.Call) and getattr(call.func, 'id', None) == 'print'
            and isinstance(call.args[0], ast.Constant)), \
        f"a test cell that does not end by printing a message:\n{source}"
    return call.args[0].value


def open_notebook(page, relative):
    """Open a notebook from the file browser; return once its kernel is idle."""
    page.locator('.jp-BreadCrumbs-home').click()
    for part in relative.split('/'):
        name = page.locator('.jp-DirListing-itemText', has_text=re.compile(f'^{re.escape(part)}$'))
        page.locator('.jp-DirListing-item', has=name).dblclick()
    page.wait_for_selector('.jp-NotebookPanel:not(.lm-mod-hidden) '
                           '.jp-Notebook-ExecutionIndicator[data-status="idle"]',
                           timeout=120_000)


def run_all(page):
    """Run > Run All Cells; wait until it has finished. Returns the seconds it took.

    The notebook is clicked first, so that it is the widget the Run menu acts on; the menu
    is reopened while Run All Cells is disabled (a notebook still connecting its kernel).
    """
    page.locator(f'{ACTIVE} .jp-Notebook .jp-Cell').first.click()
    deadline = time.monotonic() + 120
    while True:
        page.locator('.lm-MenuBar-item', has_text='Run').first.click()
        item = page.get_by_role('menuitem', name='Run All Cells', exact=True)
        if item.get_attribute('aria-disabled') != 'true':
            break
        assert time.monotonic() < deadline, "Run > Run All Cells stayed disabled for 2 min"
        page.keyboard.press('Escape')
        page.wait_for_timeout(1000)
    start = time.perf_counter()
    item.click()
    page.wait_for_function(RUN_STARTED, timeout=60_000, polling=100)
    page.wait_for_function(RUN_FINISHED, timeout=RUN_TIMEOUT_S * 1000, polling=250)
    return time.perf_counter() - start


def validate(page):
    """Press nbgrader's Validate button; return the dialog's content and the seconds."""
    start = time.perf_counter()
    page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .validate-button').click()
    page.wait_for_selector('#validation-message', timeout=RUN_TIMEOUT_S * 1000)
    return page.evaluate(READ_VALIDATION), time.perf_counter() - start


def screenshot(page, output_dir, filename, cell_index=None):
    """Save a screenshot of the window (scrolled to a cell first if given); print where."""
    if cell_index is not None:
        page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell') \
            .nth(cell_index).scroll_into_view_if_needed()
        page.wait_for_timeout(500)
    path = output_dir / filename
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")


def rendered_cells(page, nb):
    cells = page.evaluate(READ_CELLS)
    assert len(cells) == len(nb.cells), "the page does not show every cell of the notebook"
    return cells


# ------------------------------------------------------------------------------------------
# The tests
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize('name', NOTEBOOKS)
def test_complete_notebook_runs_and_validates_in_jupyterlab(name, lab, page, output_dir):
    nb = nbformat.read(lab.root / 'complete' / f'{name}.ipynb', as_version=4)
    open_notebook(page, f'complete/{name}.ipynb')
    seconds = run_all(page)
    record_seconds(output_dir, f'{name}: Run All, complete solution', seconds)
    cells = rendered_cells(page, nb)

    errors = {index: output['text'][-800:] for index, cell in enumerate(cells)
              for output in cell['outputs'] if is_error(output)}
    assert not errors, f"{name}: cells show errors after Run All: {errors}"
    not_run = [index for index, cell in enumerate(cells)
               if cell['code'] and nb.cells[index].source.strip()
               and not any(ch.isdigit() for ch in cell['prompt'])]
    assert not not_run, f"{name}: Run All left cells {not_run} unexecuted"
    graded = graded_code_cells(nb)
    for index, cell in graded.items():
        shown = ''.join(output['text'] for output in cells[index]['outputs'])
        assert pass_line(cell.source) in shown, \
            f"{name}, {cell.metadata.nbgrader['grade_id']}: printed {shown!r}"
    screenshot(page, output_dir, f'{name}-complete-run-all.png', max(graded))

    result, seconds = validate(page)
    record_seconds(output_dir, f'{name}: Validate, complete solution', seconds)
    screenshot(page, output_dir, f'{name}-complete-validate.png')
    assert 'validation-success' in result['classes'], result['text'][:3000]
    assert 'Success! Your notebook passes all the tests.' in result['text']


# The failure a test cell of the untouched release shows when it is not a stub's
# NotImplementedError: the trained-model test finds no saved model.
OTHER_FAILURES = {'test_cifar10_model': 'cifar10_cnn.npz not found: run the training cells'}


@pytest.mark.parametrize('name', NOTEBOOKS)
def test_untouched_release_shows_the_stubs_errors_and_fails_validation(name, lab, page,
                                                                       output_dir):
    nb = nbformat.read(lab.root / 'untouched' / f'{name}.ipynb', as_version=4)
    graded = graded_code_cells(nb)
    first_test = min(graded)
    open_notebook(page, f'untouched/{name}.ipynb')
    run_all(page)
    cells = rendered_cells(page, nb)

    # Run All stops at the first test cell, which shows the stub's NotImplementedError
    # ("<function>: your code goes here"); the cells before it ran without error.
    errors = {index: output['text'] for index, cell in enumerate(cells)
              for output in cell['outputs'] if is_error(output)}
    assert list(errors) == [first_test], f"{name}: errors in cells {list(errors)}"
    assert 'NotImplementedError' in errors[first_test]
    assert 'your code goes here' in errors[first_test]
    ran = [index for index, cell in enumerate(cells)
           if cell['code'] and any(ch.isdigit() for ch in cell['prompt'])]
    assert ran and max(ran) == first_test, f"{name}: cells {ran} ran"
    screenshot(page, output_dir, f'{name}-untouched-run-all.png', first_test)

    # Validate runs every cell: each test cell fails with the stub's NotImplementedError
    # (or OTHER_FAILURES), and each written answer fails as not yet answered.
    result, _ = validate(page)
    screenshot(page, output_dir, f'{name}-untouched-validate.png')
    assert 'validation-failed' in result['classes'], result['text'][:3000]
    by_source = {words(cell.source): cell.metadata.nbgrader['grade_id']
                 for cell in graded_cells(nb).values()}
    failed = {by_source.get(words(item['source']), item['source'][:80]): item['error']
              for item in result['failed']}
    assert sorted(failed) == sorted(by_source.values()), \
        f"{name}: Validate reports failures of {sorted(failed)}"
    for cell in graded.values():
        grade_id = cell.metadata.nbgrader['grade_id']
        error = words(failed[grade_id])
        expected = OTHER_FAILURES.get(grade_id, 'NotImplementedError')
        assert expected in error, f"{name}, {grade_id}: Validate says {error[-500:]!r}"
        assert grade_id in OTHER_FAILURES or 'your code goes here' in error
    for index, cell in graded_cells(nb).items():
        if cell.cell_type == 'markdown':
            assert 'You did not provide a response' in failed[cell.metadata.nbgrader['grade_id']]
