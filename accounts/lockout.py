"""The answer to a locked-out login attempt (settings.AXES_LOCKOUT_CALLABLE): a page for people, the API's
error shape for /api/, both 429 with Retry-After."""
import math

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import ngettext


def lockout_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_message() -> str:
    minutes = max(1, math.ceil(lockout_seconds() / 60))
    wait = ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    return (f"Too many failed log-in attempts for this username from your address. "
            f"Log-in is blocked for {wait}; try again later or ask an administrator to unlock the account.")


def lockout_response(request, original_response=None, credentials=None):
    seconds = lockout_seconds()
    if request.path_info.startswith("/api/"):
        response = JsonResponse({"message": lockout_message(), "extra": {"retry_after_seconds": seconds}},
                                status=429)
    else:
        response = render(request, "accounts/locked_out.html", {"message": lockout_message()}, status=429)
    response["Retry-After"] = str(seconds)
    return response
