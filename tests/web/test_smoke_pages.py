import pytest


@pytest.mark.django_db
def test_the_home_page_invites_visitors_to_sign_up(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Sign up" in response.content
