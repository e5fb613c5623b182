import zoneinfo

from django import forms

from accounts.models import ApiKey, User

TIMEZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]


class ProfileForm(forms.ModelForm):
    timezone = forms.ChoiceField(
        choices=TIMEZONE_CHOICES, help_text="New jobs run in this timezone unless you pick another."
    )
    notification_email = forms.ChoiceField(
        required=False,
        label="Job alerts go to",
        help_text="One of your confirmed addresses. Add and confirm more under Email addresses.",
    )

    class Meta:
        model = User
        fields = ["timezone", "notification_email"]

    def __init__(self, *args, instance: User, **kwargs) -> None:
        super().__init__(*args, instance=instance, **kwargs)
        others = instance.confirmed_addresses().filter(primary=False).order_by("email")
        self.fields["notification_email"].choices = [
            ("", f"{instance.email} (your sign-in address)"),
            *((address.email, address.email) for address in others),
        ]


class ApiKeyForm(forms.ModelForm):
    scope = forms.ChoiceField(
        choices=ApiKey.Scope.choices,
        initial=ApiKey.Scope.WRITE,
        required=False,
        help_text="A read key may list and read; a write key may also change jobs.",
    )

    def clean_scope(self) -> str:
        return self.cleaned_data["scope"] or ApiKey.Scope.WRITE

    class Meta:
        model = ApiKey
        fields = ["name", "scope"]
