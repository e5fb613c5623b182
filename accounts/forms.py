import logging
import zoneinfo

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.forms import PasswordResetForm as DjangoPasswordResetForm

from accounts.models import ApiKey, User
from cronsvc import emails

log = logging.getLogger(__name__)

TIMEZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]


def email_taken(email: str, *, exclude: User | None = None) -> bool:
    users = User.objects.filter(email__iexact=email)
    if exclude is not None:
        users = users.exclude(pk=exclude.pk)
    return users.exists()


class SignupForm(forms.Form):
    email = forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"])
        if email_taken(email):
            raise forms.ValidationError("An account with this email address already exists.")
        return email

    def clean(self) -> dict:
        cleaned = super().clean()
        if "email" in cleaned and "password" in cleaned:
            candidate = User(email=cleaned["email"])
            try:
                password_validation.validate_password(cleaned["password"], candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )


class PasswordResetForm(DjangoPasswordResetForm):
    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict,
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        """Send through cronsvc.emails like every other message (emails/password-reset-*)."""
        try:
            emails.send("emails/password-reset", to=to_email, context=context)
        except Exception:
            # As Django does: a failed send must not tell the visitor whether the account exists.
            log.exception("Failed to send a password reset email to member %s", context["user"].pk)


class ProfileForm(forms.ModelForm):
    timezone = forms.ChoiceField(
        choices=TIMEZONE_CHOICES, help_text="New jobs run in this timezone unless you pick another."
    )
    notification_email = forms.EmailField(
        required=False,
        label="Notification email",
        help_text="Where job alerts go. Leave empty to use your sign-in address. "
        "A new address gets a confirmation link first.",
    )

    class Meta:
        model = User
        fields = ["timezone"]


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, user: User, *args, **kwargs) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That password is not correct.")
        return password


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
