"""Per-address rate limits on the emailed-link forms (flask-limiter)."""

from __future__ import annotations


def test_password_reset_requests_are_rate_limited_per_address(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    client = app.test_client()

    def ask(n: int, ip: str = "203.0.113.7") -> int:
        return client.post("/password/forgot", data={"email": f"probe{n}@example.org"},
                           environ_base={"REMOTE_ADDR": ip}).status_code

    codes = [ask(n) for n in range(6)]
    assert codes[:5] == [302] * 5 and codes[5] == 429
    assert ask(99, ip="203.0.113.8") == 302  # another address is not held up


def test_a_link_that_was_never_sent_is_refused_without_an_error(client):
    for path in ("/password/reset/forged-token", "/account/verify/forged-token", "/password/reset/" + "x" * 400):
        response = client.get(path)
        assert response.status_code == 404 and "This link is not valid" in response.get_data(as_text=True)
