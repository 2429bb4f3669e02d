from django.core.management.base import BaseCommand

from demo.services import demo_load


class Command(BaseCommand):
    help = ("Load the demo study (example cases, default personas, real SmolLM2 responses and SmolLM2's recorded "
            "LLM-judge scores) and demo users.")

    def handle(self, *args, **opts):
        result = demo_load()
        state = "created" if result.created else "already there"
        self.stdout.write(self.style.SUCCESS(f"Demo study '{result.study.name}': {state}."))
        self.stdout.write("Demo users (passwords are new on every run):")
        for username, password in result.passwords.items():
            self.stdout.write(f"  {username:<12} {password}")
        self.stdout.write("Log in at http://127.0.0.1:8000/login/ — clinician rates, researcher reads reports, "
                          "admin manages studies. sim-rater-* ratings are simulated (not clinicians' judgements); "
                          "the LLM judge is SmolLM2-135M-Instruct's recorded output.")
