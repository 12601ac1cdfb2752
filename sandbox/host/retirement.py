"""The platform's retirement of a learner, as edx-platform's retirement pipeline does it."""

from sandbox.platform_modules import retirement_signals


class LMSAccountRetirementView:
    """The sender of USER_RETIRE_LMS_MISC in edx-platform (the retire_misc view)."""


class AccountRetirementView:
    """The sender of USER_RETIRE_LMS_CRITICAL in edx-platform (the retire view)."""


def retire_user(user):
    """
    What edx-platform does: the email is replaced and the password made unusable when the learner
    asks, then the pipeline's retire_misc and retire steps send their signals (a receiver that
    raises fails the step, which the pipeline retries).
    """
    user.email = f"retired__user_{user.pk}@retired.invalid"
    user.set_unusable_password()
    user.save()
    retirement_signals.USER_RETIRE_LMS_MISC.send(sender=LMSAccountRetirementView, user=user)
    retirement_signals.USER_RETIRE_LMS_CRITICAL.send(sender=AccountRetirementView, user=user)
