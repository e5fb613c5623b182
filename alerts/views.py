from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts import projects
from accounts.models import Membership, Role
from alerts import auditing, confirmation, delivery, unsubscribe
from alerts.forms import ChannelForm, MaintenanceWindowForm
from alerts.models import Channel, MaintenanceWindow
from jobs.web.views import web_actor

LAST_DELIVERIES = 5


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


@login_required
def channels(request: HttpRequest) -> HttpResponse:
    """The project's channels with their last deliveries, and the form to add one."""
    member = projects.current_membership(request)
    projects.require_role(member, Role.VIEWER)
    form = ChannelForm(request.POST or None, instance=Channel(project=member.project))
    if request.method == "POST":
        projects.require_role(member, Role.MEMBER)
        if form.is_valid():
            channel = form.save()
            auditing.created(channel, web_actor(request))
            confirmation.ask_to_confirm(channel)
            messages.success(request, f"“{channel.label}” is added.")
            if not channel.is_confirmed():
                messages.info(request, f"We sent a link to {channel.address} to confirm it.")
            return redirect("channels")
    window_form = MaintenanceWindowForm(instance=MaintenanceWindow(project=member.project))
    return channels_page(request, member, form, window_form)


def channels_page(
    request: HttpRequest,
    member: Membership,
    form: ChannelForm,
    window_form: MaintenanceWindowForm,
) -> HttpResponse:
    listed = list(member.project.channels.all())
    for channel in listed:
        channel.last_deliveries = channel.deliveries.select_related("job")[:LAST_DELIVERIES]
    context = {
        "channels": listed,
        "form": form,
        "windows": member.project.maintenance_windows.all(),
        "window_form": window_form,
        "may_change": member.may(Role.MEMBER),
    }
    return render(request, "alerts/channels.html", context)


@login_required
@require_POST
def maintenance_window_add(request: HttpRequest) -> HttpResponse:
    """The Channels page's form for a maintenance window; errors show on that page."""
    member = projects.current_membership(request)
    projects.require_role(member, Role.MEMBER)
    window_form = MaintenanceWindowForm(
        request.POST, instance=MaintenanceWindow(project=member.project)
    )
    if not window_form.is_valid():
        form = ChannelForm(instance=Channel(project=member.project))
        return channels_page(request, member, form, window_form)
    window = window_form.save()
    auditing.created(window, web_actor(request))
    messages.success(request, f"The maintenance window “{window}” is added.")
    return redirect("channels")


@login_required
@require_POST
def maintenance_window_delete(request: HttpRequest, window_id: int) -> HttpResponse:
    member = projects.current_membership(request)
    projects.require_role(member, Role.MEMBER)
    window = get_object_or_404(member.project.maintenance_windows, pk=window_id)
    auditing.deleted(window, web_actor(request))
    window.delete()
    messages.success(request, f"The maintenance window “{window}” is deleted.")
    return redirect("channels")


def get_channel(request: HttpRequest, channel_id: int) -> Channel:
    """A channel of the member's current project, if they may change it; another project's
    is a 404."""
    member = projects.current_membership(request)
    projects.require_role(member, Role.MEMBER)
    return get_object_or_404(member.project.channels, pk=channel_id)


@login_required
@require_POST
def channel_test(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = get_channel(request, channel_id)
    delivery.queue_test(channel)
    messages.success(request, f"A test alert to “{channel.label}” is on its way.")
    return redirect("channels")


@login_required
@require_POST
def channel_delete(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = get_channel(request, channel_id)
    auditing.deleted(channel, web_actor(request))
    channel.delete()
    messages.success(request, f"“{channel.label}” is deleted; its jobs no longer alert it.")
    return redirect("channels")


def channel_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the confirmation email: no log-in needed, the signed token decides.
    GET asks (mail scanners follow links, as for sign-up addresses); POST confirms."""
    channel = confirmation.channel_for_token(token)
    if channel is None:
        return render(request, "alerts/channel_confirm.html", {"invalid": True}, status=400)
    if request.method == "POST":
        confirmation.confirm(channel)
        return render(request, "alerts/channel_confirm.html", {"channel": channel, "done": True})
    return render(request, "alerts/channel_confirm.html", {"channel": channel})
