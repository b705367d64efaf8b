"""grading: the course's nbgrader plug-ins and the instructor's tools for hw5.

- ``grading.pysolutions``: strip ``### BEGIN SOLUTION`` regions out of released .py files.
- ``grading.preprocessors``: the nbgrader preprocessors that nbgrader_config.py plugs in
  (release clean-up, harmless stderr in graded cells, feedback without hidden tests).
- ``grading.build_source``: writes the instructor notebooks of source/hw5 and the links
  that put nndl/ and utils/ into the assignment.
- ``grading.samples``: the sample submissions (complete, partially wrong, empty).
- ``grading.demo``: the instructor's whole cycle, ``python -m grading.demo``.

None of this is released to students.
"""
