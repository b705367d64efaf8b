"""The course itself: its definition, the notebook builders and the release.

``python -m grading.authoring.build_source`` writes source/hw5 from these; imports nothing
from ``grading.sandbox`` or ``grading.classroom``.
"""
