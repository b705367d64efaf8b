"""Running a class: autograding many submissions, the demo cycle, the semester's plumbing.

``python -m grading.classroom.demo`` (the whole cycle on sample submissions),
``python -m grading.classroom.parallel`` and ``python -m grading.classroom.distributed``.
"""
