"""The course's late-work rule, as an nbgrader late-submission plugin.

nbgrader's ``AssignLatePenalties`` (in ``Autograde.autograde_preprocessors``) asks the
plugin ``AssignLatePenalties.plugin_class`` for a penalty for each notebook of a
submission made after its due date (the assignment's due date plus the student's
extension, if any); the penalty is subtracted from that notebook's score. Stock nbgrader
offers only "none" and "zero". ``PercentPerDay`` takes off a fixed share of the score
per started day late, after a grace period, and everything after ``max_days``:

    c.AssignLatePenalties.plugin_class = "grading.classroom.late.PercentPerDay"
    c.PercentPerDay.percent_per_day = 10
    c.PercentPerDay.grace_minutes = 15
    c.PercentPerDay.max_days = 5

The penalty is computed when autograding, on the notebook's points at that moment: the
written answers count only if they were graded by hand before (regrade the late students
after grading by hand to have the penalty apply to everything; the hand-given points
stay).
"""
import math

from nbgrader.plugins import BasePlugin
from traitlets import Float, Integer, TraitError, validate


class PercentPerDay(BasePlugin):
    """``percent_per_day`` of the score per started day late; all of it after ``max_days``."""

    percent_per_day = Float(10.0, help="Share of the score taken off per started day "
                                       "late, in percent.").tag(config=True)
    grace_minutes = Float(15.0, help="Minutes after the due date that count as on "
                                     "time.").tag(config=True)
    max_days = Integer(5, help="A submission more than this many days late scores "
                               "0.").tag(config=True)

    @validate('percent_per_day')
    def _valid_percent(self, proposal):
        if not 0 <= proposal['value'] <= 100:
            raise TraitError(f"PercentPerDay.percent_per_day must be between 0 and 100, "
                             f"got {proposal['value']}")
        return proposal['value']

    @validate('grace_minutes', 'max_days')
    def _not_negative(self, proposal):
        if proposal['value'] < 0:
            raise TraitError(f"PercentPerDay.{proposal['trait'].name} must not be negative, "
                             f"got {proposal['value']}")
        return proposal['value']

    def days_late(self, total_seconds_late):
        """Started days late, counted from the end of the grace period (0: on time)."""
        seconds = total_seconds_late - 60 * self.grace_minutes
        return 0 if seconds <= 0 else math.ceil(seconds / 86400)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        """Points taken off ``score`` for a notebook handed in ``total_seconds_late`` late."""
        days = self.days_late(total_seconds_late)
        if days > self.max_days:
            share = 1.0
        else:
            share = min(1.0, days * self.percent_per_day / 100)
        penalty = round(score * share, 2)
        if days:
            self.log.warning("%s: %d day(s) late (%.0f s): %g%% of %g points taken off",
                             student_id, days, total_seconds_late, 100 * share, score)
        return penalty
