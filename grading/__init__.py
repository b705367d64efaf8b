"""grading: what the course adds to nbgrader for hw5, in three folders by concern.

Imports run one way, authoring <- sandbox <- classroom (tests/test_import_graph.py):

- ``grading.authoring``: the course itself. Its definition (``course``: files, links,
  the graded model), the notebook builders (``nbbuild``, ``notebooks``, ``figures``,
  ``build_source``) and the release (``pysolutions`` strips the .py solutions,
  ``release.CleanRelease`` cleans ``nbgrader generate_assignment``'s output).
- ``grading.sandbox``: grading one submission safely. The bubblewrap sandbox (``policy``,
  ``launch``, ``entry``, ``guard``, ``kernel``, ``links``, ``status``), the execution that
  always ends with a grade (``faults``, ``stderr``), the grader that decides outside the
  kernel (``judge``, ``score_model``), and ``config.configure_sandbox``, which plugs it
  all into nbgrader_config.py.
- ``grading.classroom``: running a class. Autograde serial, parallel and distributed
  (``parallel``, ``distributed``), the instructor's demo cycle (``demo``) on sample
  submissions (``samples``, ``alternatives``, ``edits``), and the semester's plumbing
  (``exchange``, ``lms``, ``late``, ``feedback``, ``jupyter_config``).

None of this is released to students.
"""
