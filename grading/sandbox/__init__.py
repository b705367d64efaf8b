"""Grading one submission safely: the sandbox, fault-tolerant execution and the judge.

Plugged into nbgrader by ``grading.sandbox.config.configure_sandbox``; the limits are the
fields of ``grading.sandbox.policy.Policy``. ``launch.py``, ``entry.py``, ``guard.py`` and
``policy.py`` import only the standard library (the launcher runs as
``python -I -m grading.sandbox.launch``; the other three are bound into the sandbox).
Imports ``grading.authoring`` (the course definition), never ``grading.classroom``.
"""
