"""Helpers for page tests through Flask's test client: a browser's session, with CSRF."""

import re


def csrf_token(html: str) -> str:
    """The CSRF token a page's form carries."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in_page(client, system, username, roles, **extra):
    """Sign in through the login form (a user the driver made gets a password)."""
    system.tasks.add_user(username, roles, password="pw", **extra)
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"username": username, "password": "pw", "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def page(client, url) -> str:
    """The HTML of a page that must answer 200."""
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)
