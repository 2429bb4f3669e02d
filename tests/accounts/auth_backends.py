"""The login-throttle backend for the test suite: as in production, except that Django's test client,
which calls authenticate() without a request, is let through (there is no client address to count)."""
from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
