from allauth.mfa.totp.views import activate_totp
from django.urls import include, path
from django.views.decorators.cache import never_cache
from django.views.generic import RedirectView

from accounts import views

urlpatterns = [
    path("settings/", views.profile, name="profile"),
    path("settings/delete/", views.delete_account, name="delete_account"),
    path("settings/api-keys/", views.api_keys, name="api_keys"),
    path("settings/api-keys/<int:key_id>/revoke/", views.revoke_api_key, name="revoke_api_key"),
    # Where these pages were before allauth.
    path("settings/password/", RedirectView.as_view(pattern_name="account_change_password")),
    path("password-reset/", RedirectView.as_view(pattern_name="account_reset_password")),
    # allauth's page showing a new authenticator app's secret, kept by no cache (its
    # recovery codes pages already are).
    path("2fa/totp/activate/", never_cache(activate_totp), name="mfa_activate_totp"),
    # Sign-up, sign-in, addresses, passwords (login/, signup/, email/, password/…),
    # two-factor sign-in (2fa/) and sessions (sessions/).
    path("", include("allauth.urls")),
]
