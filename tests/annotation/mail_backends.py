"""Mail backends for tests: an SMTP server that is down, and one that refuses a message for good."""
import smtplib

from django.core.mail.backends.base import BaseEmailBackend

calls = {"n": 0}


class DownBackend(BaseEmailBackend):
    """Every send fails as if the SMTP server were unreachable."""

    def send_messages(self, email_messages):
        calls["n"] += 1
        raise ConnectionRefusedError(111, "Connection refused")


class SmtpErrorBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        calls["n"] += 1
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class BrokenMessageBackend(BaseEmailBackend):
    """A failure that retrying cannot fix."""

    def send_messages(self, email_messages):
        calls["n"] += 1
        raise ValueError("header contains a newline")
