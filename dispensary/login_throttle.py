"""Login throttling (a django-axes handler): an account is locked after AXES_FAILURE_LIMIT failures from any
address, and an address after AXES_ADDRESS_FAILURE_LIMIT failures on any accounts, each within the cool-off.

The address limit is higher than the account's, so that people sharing one address (a store's network) do
not lock each other out with a few typos, while a password spray from one address is still stopped. Axes
compares one count against one limit; this handler reports an address over its own limit as a count at the
account limit, so every path of axes (the lockout check, the lockout signal, the lockout page) agrees."""

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum


def _failures(attempts) -> int:
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


class LoginThrottleHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials=None) -> int:
        by_account, by_address = (
            _failures(attempts) for attempts in self.get_user_attempts(request, credentials)
        )
        if by_address >= settings.AXES_ADDRESS_FAILURE_LIMIT:
            return max(by_account, settings.AXES_FAILURE_LIMIT)
        return by_account
