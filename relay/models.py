"""Peewee models; their tables are created by relay.migrations, not by create_tables."""
from peewee import (CharField, DateTimeField, ForeignKeyField, IntegerField, Model,
                    TextField)

from relay.db import database
from relay.timeutil import utcnow

ROLES = ("Admin", "Developer", "QA", "Viewer")


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class User(BaseModel):
    email = CharField(unique=True)
    password_hash = CharField()
    display_name = CharField(default="")
    avatar = CharField(null=True)  # storage key, e.g. "avatars/3f2a….png"
    role = CharField()
    session_gen = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "users"


class ApiToken(BaseModel):
    user = ForeignKeyField(User, backref="tokens", on_delete="CASCADE")
    name = CharField()
    scope = CharField()
    token_hash = CharField(unique=True)
    last_used_at = DateTimeField(null=True)
    expires_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "api_tokens"

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(s for s in self.scope.split(",") if s)


class Invitation(BaseModel):
    email = CharField()
    role = CharField()
    token_hash = CharField(unique=True)
    invited_by = ForeignKeyField(User, null=True, on_delete="SET NULL", column_name="invited_by")
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "invitations"


class PasswordReset(BaseModel):
    user = ForeignKeyField(User, on_delete="CASCADE")
    token_hash = CharField(unique=True)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "password_resets"


class Setting(BaseModel):
    key = CharField(primary_key=True)
    value = TextField(null=True)

    class Meta:
        table_name = "settings"
