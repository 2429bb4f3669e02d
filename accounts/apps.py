from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from .roles import roles_ensure

        # Groups exist in every database the moment it is migrated, the test database included.
        post_migrate.connect(lambda **kw: roles_ensure(), sender=self, weak=False)
