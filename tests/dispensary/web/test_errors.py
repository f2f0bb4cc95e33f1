"""Friendly error pages; the 500 page renders without the database or context processors."""

from django.template import loader

from dispensary.views.errors import server_error


def test_404_is_friendly_and_styled(client, login, staff):
    login(staff("manager"))
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"We could not find that" in response.content
    assert b"/static/css/app.css" in response.content


def test_403_is_friendly(client, login, staff):
    login(staff("budtender"))
    response = client.get("/dashboard/")
    assert response.status_code == 403
    assert b"This page is not part of your role" in response.content


def test_500_page_needs_no_database(rf):
    # No db fixture: pytest-django makes any query here an error.
    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content
    # A plain template: it renders with no context at all.
    assert "app.css" in loader.get_template("errors/500.html").render()
