"""Helpers for API tests through Flask's test client."""


def sign_in(client, system, username, roles, **extra):
    """Bearer headers for `username` (created, or given a password if the driver made it)."""
    system.tasks.add_user(username, roles, password="pw", **extra)
    response = client.post("/api/v1/auth/token", json={"username": username, "password": "pw"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.get_json()['token']}"}
