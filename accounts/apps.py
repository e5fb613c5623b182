from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        # Connect the signal receivers: allauth's (receivers) and each new member's
        # personal project (projects).
        from accounts import projects, receivers  # noqa: F401
