from django import forms

from accounts.forms import TIMEZONE_CHOICES
from alerts.models import WEEKDAY_NAMES, Channel, MaintenanceWindow
from jobs.validators import MAX_URL_LENGTH
from jobs.web.forms import in_its_timezone, local_datetime_input


class ChannelForm(forms.ModelForm):
    """Add a channel: its kind, and the URL or address the kind needs (Channel.clean
    checks them, errors under each field)."""

    url = forms.CharField(
        label="URL",
        required=False,
        max_length=MAX_URL_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": "https://… or slack://…, ntfy://…"}),
        help_text="A webhook (https://…) or an Apprise URL (slack://, discord://, tgram://, "
        "workflow://, pover://, ntfy://, gotify://, matrix://, …). Stored encrypted; only "
        "its scheme and host are shown again.",
    )

    class Meta:
        model = Channel
        fields = ["kind", "name", "url", "address", "is_default"]
        labels = {"is_default": "Select it for new jobs", "address": "Email address"}

    def clean(self) -> dict:
        cleaned = super().clean()
        # The model checks the URL (Channel.clean), which it keeps encrypted.
        self.instance.url = cleaned.get("url", "")
        return cleaned


class MaintenanceWindowForm(forms.ModelForm):
    """Add a maintenance window: a start and an end, or weekdays, a time and minutes
    (MaintenanceWindow.clean checks them, errors under each field)."""

    weekdays = forms.TypedMultipleChoiceField(
        choices=list(enumerate(WEEKDAY_NAMES)),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Weekly: the days it starts on, with a start time and minutes.",
    )
    timezone = forms.ChoiceField(label="Timezone", choices=TIMEZONE_CHOICES, initial="UTC")

    class Meta:
        model = MaintenanceWindow
        fields = [
            "name",
            "starts_at",
            "ends_at",
            "weekdays",
            "start_time",
            "duration_minutes",
            "timezone",
        ]
        widgets = {
            "starts_at": local_datetime_input(),
            "ends_at": local_datetime_input(),
            "start_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
        labels = {
            "starts_at": "Once: starts",
            "ends_at": "Once: ends",
            "duration_minutes": "Lasts (minutes)",
        }

    def clean(self) -> dict:
        cleaned = super().clean()
        in_its_timezone(cleaned, ("starts_at", "ends_at"))
        return cleaned
