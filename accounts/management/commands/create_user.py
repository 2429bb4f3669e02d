from django.core.management.base import BaseCommand, CommandError

from accounts.models import Specialty
from accounts.roles import ROLES
from accounts.services import user_create
from config.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Create or update a user with one role (admin, researcher or clinician)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--password", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--specialty", default=Specialty.OTHER, choices=Specialty.values)
        parser.add_argument("--years", type=int, default=0)

    def handle(self, *args, **opts):
        try:
            user = user_create(username=opts["username"], password=opts["password"], role=opts["role"],
                               email=opts["email"], specialty=opts["specialty"], years_in_practice=opts["years"])
        except ApplicationError as exc:
            if "password" not in exc.extra:
                raise CommandError(exc.message) from exc
            problems = "\n".join(f"  - {p}" for p in exc.extra["password"])
            raise CommandError(f"Password rejected for {opts['username']}:\n{problems}") from exc
        self.stdout.write(self.style.SUCCESS(f"{user.username}: {opts['role']}"))
