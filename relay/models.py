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

    @classmethod
    def fetch(cls, where: str, *params):
        """One row by a hand-written WHERE clause, or None.

        For the per-request hot path (sessions, tokens): peewee's query builder costs ~20x
        the SQLite lookup itself there.
        """
        fields = cls._meta.sorted_fields
        sql = cls.__dict__.get("_fetch_sql")
        if sql is None:
            columns = ", ".join(f'"{f.column_name}"' for f in fields)
            sql = cls._fetch_sql = f'SELECT {columns} FROM "{cls._meta.table_name}" WHERE '
        row = database.execute_sql(sql + where, params).fetchone()
        if row is None:
            return None
        return cls(**{f.name: f.python_value(v) for f, v in zip(fields, row)})


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
