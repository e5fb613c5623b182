from django.http import HttpRequest


def axes_username(request: HttpRequest, credentials: dict | None) -> str:
    """Count failed log-ins per account however the email was typed.

    axes asks with three shapes of input, and all must give the same name or a locked
    account can still sign in: the failure signal passes authenticate()'s credentials
    ({"username": ...}), axes' backend passes its own keyed by AXES_USERNAME_FORM_FIELD
    (the user model's USERNAME_FIELD, "email"), and the middleware passes none (the
    login form's POST, field "username").
    """
    source = credentials or request.POST
    username = source.get("username") or source.get("email") or ""
    return username.strip().lower()
