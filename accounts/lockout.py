from django.http import HttpRequest


def axes_username(request: HttpRequest, credentials: dict | None) -> str:
    """Count failed log-ins per account however the email was typed."""
    source = credentials or request.POST
    return (source.get("username") or "").strip().lower()
