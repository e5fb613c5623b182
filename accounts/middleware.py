from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.projects import TwoFactorRequired


class TwoFactorRequiredMiddleware:
    """A page of a project that requires two-factor sign-in sends a member without it to
    set one up, saying why (the API answers 403 instead: accounts/api_auth.py)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, TwoFactorRequired):
            return None
        messages.warning(request, str(exception))
        return redirect("mfa_index")
