from accounts.models import ApiKey, User
from accounts.projects import personal_project
from jobs.models import Job
from tests.conftest import PASSWORD

DELETE = "/accounts/settings/delete/"


def test_it_explains_what_goes(alice_client):
    page = alice_client.get(DELETE).content.decode()

    assert "This deletes your account with all its jobs, their history and your API keys." in page
    assert "Delete my account" in page


def test_it_deletes_the_member_and_their_keys(alice_client, alice, alice_key, bob_api):
    response = alice_client.post(DELETE, {"password": PASSWORD})

    assert response.status_code == 302
    assert response.url == "/"
    assert not User.objects.filter(email="alice@example.org").exists()
    assert list(ApiKey.objects.values_list("name", flat=True)) == ["bob's key"]
    assert alice_client.get("/accounts/settings/").status_code == 302
    page = alice_client.get("/accounts/login/").content.decode()
    assert "Your account and everything in it have been deleted." in page


def test_it_deletes_the_members_jobs_and_only_theirs(alice_client, alice, bob):
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

    alice_client.post(DELETE, {"password": PASSWORD})

    assert list(Job.objects.values_list("title", flat=True)) == ["report"]


def test_the_deleted_member_cannot_log_in(alice_client, alice):
    alice_client.post(DELETE, {"password": PASSWORD})

    response = alice_client.post(
        "/accounts/login/", {"username": "alice@example.org", "password": PASSWORD}
    )

    assert response.status_code == 200
    assert "Please enter a correct email address and password." in response.content.decode()


def test_a_wrong_password_changes_nothing(alice_client, alice, alice_key):
    Job.objects.create(
        user=alice,
        project=personal_project(alice),
        title="backup",
        url="https://example.org/b",
        schedule="@daily",
    )

    response = alice_client.post(DELETE, {"password": "not it"})

    assert response.status_code == 200
    assert "That password is not correct." in response.content.decode()
    assert User.objects.filter(pk=alice.pk).exists()
    assert alice.api_keys.count() == 1
    assert alice.jobs.count() == 1
    assert alice_client.get("/accounts/settings/").status_code == 200


def test_an_empty_password_changes_nothing(alice_client, alice):
    response = alice_client.post(DELETE, {"password": ""})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert User.objects.filter(pk=alice.pk).exists()


def test_a_get_changes_nothing(alice_client, alice):
    assert alice_client.get(DELETE).status_code == 200
    assert User.objects.filter(pk=alice.pk).exists()
