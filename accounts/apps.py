from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        # Connects the signal that gives each new member a personal project.
        from accounts import projects  # noqa: F401
