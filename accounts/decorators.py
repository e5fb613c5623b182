from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


def verified_required(view: Callable) -> Callable:
    """Members may look around before confirming their email, but not create jobs."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_verified:
            messages.warning(request, "Confirm your email address before creating jobs.")
            return redirect("home")
        return view(request, *args, **kwargs)

    return wrapper
