"""The `tapflow_token` cookie: a signed {user id, session generation}, valid for 7 days.

Bumping a user's session_gen (logout, password change or reset) ends every cookie issued before.
"""
from itsdangerous import BadSignature, URLSafeTimedSerializer

from relay.models import User

COOKIE_NAME = "tapflow_token"
MAX_AGE = 7 * 24 * 3600


class SessionCodec:
    def __init__(self, secret_key: str):
        self._serializer = URLSafeTimedSerializer(secret_key, salt="relay-session")

    def issue(self, user: User) -> str:
        return self._serializer.dumps([user.id, user.session_gen])

    def resolve(self, value: str | None) -> User | None:
        if not value:
            return None
        try:
            user_id, gen = self._serializer.loads(value, max_age=MAX_AGE)
        except (BadSignature, ValueError, TypeError):
            return None
        user = User.fetch("id = ?", user_id)
        if user is None or user.session_gen != gen:
            return None
        return user
