from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt

from alerts import unsubscribe


@csrf_exempt  # mail apps POST here with no session (RFC 8058); the signed token decides
def job_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The List-Unsubscribe link: no log-in needed, the signed token names the job.
    GET asks first (link scanners follow links); POST, also one-click from mail apps, acts."""
    job = unsubscribe.job_for_token(token)
    if job is None:
        return render(request, "alerts/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "POST":
        unsubscribe.unsubscribe(job)
        if request.user == job.user:
            messages.success(request, f"Emails for “{job.title}” are turned off.")
            return redirect("job_detail", job.id)
        return render(request, "alerts/unsubscribe.html", {"job": job, "done": True})
    return render(request, "alerts/unsubscribe.html", {"job": job})
