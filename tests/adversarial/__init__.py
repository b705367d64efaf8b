"""Submissions that attack or break the autograder, and throwaway courses to grade them in.

``toy_course`` builds a tiny nbgrader course (one notebook, one student module) for the
fault and scale tests; ``hw5_attacks`` holds the adversarial versions of the hw5
submission used by tests/test_sandbox_adversarial.py.
"""
