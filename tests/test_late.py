"""grading.classroom.late.PercentPerDay, the course's late-penalty rule (nbgrader_config.py)."""
import pytest
from traitlets import TraitError
from traitlets.config import Config

from grading.classroom.late import PercentPerDay

HOUR, DAY = 3600, 86400


@pytest.fixture
def rule():
    return PercentPerDay(percent_per_day=10, grace_minutes=15, max_days=5)


@pytest.mark.parametrize('seconds_late, share', [
    (0, 0), (14 * 60, 0), (15 * 60, 0),          # within the grace period
    (15 * 60 + 1, 0.1), (DAY, 0.1),              # first started day
    (DAY + 15 * 60 + 1, 0.2), (36 * HOUR, 0.2),  # second
    (5 * DAY + 15 * 60, 0.5),                    # the last day with a share
    (5 * DAY + 15 * 60 + 1, 1.0), (30 * DAY, 1.0),
])
def test_share_of_the_score_per_started_day(rule, seconds_late, share):
    assert rule.late_submission_penalty('s', 30.0, seconds_late) == pytest.approx(30 * share)


def test_the_penalty_never_exceeds_the_score():
    rule = PercentPerDay(percent_per_day=40, grace_minutes=0, max_days=10)
    assert rule.late_submission_penalty('s', 12.5, 3 * DAY) == 12.5
    assert rule.late_submission_penalty('s', 0.0, 3 * DAY) == 0.0


def test_configured_as_in_nbgrader_config():
    config = Config()
    config.PercentPerDay.percent_per_day = 25
    rule = PercentPerDay(config=config)
    assert rule.late_submission_penalty('s', 8, 2 * DAY) == 4


@pytest.mark.parametrize('trait, value', [('percent_per_day', 120), ('percent_per_day', -1),
                                          ('grace_minutes', -5), ('max_days', -1)])
def test_bad_settings_are_refused_with_their_name(trait, value):
    with pytest.raises(TraitError, match=f'PercentPerDay.{trait}'):
        PercentPerDay(**{trait: value})
