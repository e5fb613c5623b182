from accounts.models import ApiKey, User
from accounts.projects import personal_project
from jobs.models import Job
from tests.conftest import PASSWORD, log_in

DELETE = "/accounts/settings/delete/"


def test_it_explains_what_goes(alice_reauthenticated):
    page = alice_reauthenticated.get(DELETE).content.decode()

    assert "This deletes your account with all its jobs, their history and your API keys." in page
    assert "Delete my account" in page


def test_it_deletes_the_member_and_their_keys(alice_reauthenticated, alice, alice_key, bob_api):
    response = alice_reauthenticated.post(DELETE)

    assert response.status_code == 302
    assert response.url == "/"
    assert not User.objects.filter(email="alice@example.org").exists()
    assert list(ApiKey.objects.values_list("name", flat=True)) == ["bob's key"]
    assert alice_reauthenticated.get("/accounts/settings/").status_code == 302
    page = alice_reauthenticated.get("/accounts/login/").content.decode()
    assert "Your account and everything in it have been deleted." in page


def test_it_deletes_the_members_jobs_and_only_theirs(alice_reauthenticated, alice, bob):
    Job.objects.create(
        user=alice,
        project=personal_project(alice),
        title="backup",
        url="https://example.org/b",
        schedule="@daily",
    )
    Job.objects.create(
        user=bob,
        project=personal_project(bob),
        title="report",
        url="https://example.org/r",
        schedule="@daily",
    )

    alice_reauthenticated.post(DELETE)

    assert list(Job.objects.values_list("title", flat=True)) == ["report"]


def test_the_deleted_member_cannot_log_in(alice_reauthenticated, alice):
    alice_reauthenticated.post(DELETE)

    response = log_in(alice_reauthenticated, "alice@example.org", PASSWORD)

    assert response.status_code == 200
    assert "The email address or the password is not correct." in response.content.decode()


def test_deleting_asks_for_the_password_again_first(client, alice, alice_key):
    client.force_login(alice)

    response = client.post(DELETE)

    assert response.status_code == 302
    assert response.url.startswith("/accounts/reauthenticate/")
    assert User.objects.filter(pk=alice.pk).exists()
    assert client.post("/accounts/reauthenticate/", {"password": "not it"}).status_code == 200
    assert User.objects.filter(pk=alice.pk).exists()


def test_a_get_changes_nothing(alice_reauthenticated, alice):
    assert alice_reauthenticated.get(DELETE).status_code == 200
    assert User.objects.filter(pk=alice.pk).exists()
