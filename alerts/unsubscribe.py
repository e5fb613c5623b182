"""The List-Unsubscribe link in every alert email: a lasting signed token naming the job."""

from django.core import signing
from django.urls import reverse

from alerts.models import Channel
from jobs.models import Job

SALT = "jobs.unsubscribe"


def link_path(job: Job) -> str:
    # No timestamp in the signature: every email of a job carries the same lasting link.
    token = signing.Signer(salt=SALT).sign(str(job.id))
    return reverse("job_unsubscribe", args=[token])


def job_for_token(token: str) -> Job | None:
    try:
        job_id = signing.Signer(salt=SALT).unsign(token)
    except signing.BadSignature:
        return None
    return Job.objects.filter(id=int(job_id)).first() if job_id.isdigit() else None


def unsubscribe(job: Job) -> None:
    """The job stops alerting email channels; its webhooks and chat channels go on."""
    job.channels.remove(*job.channels.filter(kind=Channel.Kind.EMAIL))
