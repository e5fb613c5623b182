from django import forms

from alerts.models import Channel
from jobs.validators import MAX_URL_LENGTH


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
