"""Peewee models; their tables are created by relay.migrations, not by create_tables."""
from peewee import (CharField, CompositeKey, DateTimeField, FloatField, ForeignKeyField,
                    IntegerField, Model, TextField)

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


STATUSES = ("Backlog", "In Progress", "Done", "Rejected")
PLATFORMS = ("ios", "android")


class App(BaseModel):
    uuid = CharField(unique=True)
    name = CharField()
    bundle_id_key = CharField(unique=True)
    platform = CharField()  # ios | android | both
    icon = CharField(null=True)  # storage key of a PNG
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "apps"


class Build(BaseModel):
    app = ForeignKeyField(App, backref="builds", on_delete="CASCADE")
    platform = CharField()
    bundle_id = CharField()
    version_name = CharField(default="")
    build_number = CharField(default="")
    display_name = CharField(null=True)
    min_os = CharField(null=True)
    version_label = CharField(null=True)
    status_label = CharField(null=True)
    file_key = CharField()
    file_name = CharField()
    file_size = IntegerField()
    sha256 = CharField()
    uploaded_by = ForeignKeyField(User, null=True, on_delete="SET NULL", column_name="uploaded_by")
    uploaded_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "builds"


class Comment(BaseModel):
    build = ForeignKeyField(Build, backref="comments", on_delete="CASCADE")
    author = ForeignKeyField(User, null=True, on_delete="SET NULL")
    author_email = CharField()
    body = TextField()
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "comments"


class CommentAttachment(BaseModel):
    comment = ForeignKeyField(Comment, backref="attachments", on_delete="CASCADE")
    file_key = CharField()
    mime = CharField()

    class Meta:
        table_name = "comment_attachments"


class Recording(BaseModel):
    file_key = CharField(unique=True)
    session_id = CharField(null=True)
    build = ForeignKeyField(Build, null=True, on_delete="CASCADE")
    uploaded_by = ForeignKeyField(User, null=True, on_delete="SET NULL", column_name="uploaded_by")
    file_size = IntegerField()
    mime = CharField()
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()

    class Meta:
        table_name = "recordings"


class Agent(BaseModel):
    name = CharField(unique=True)
    platform = CharField(null=True)
    devices = TextField(null=True)  # JSON list as reported
    cpu_percent = FloatField(null=True)
    mem_percent = FloatField(null=True)
    last_seen_at = DateTimeField()

    class Meta:
        table_name = "agents"


class AgentSample(BaseModel):
    agent = ForeignKeyField(Agent, backref="samples", on_delete="CASCADE")
    recorded_at = DateTimeField()
    cpu_percent = FloatField()
    mem_percent = FloatField()
    folded = IntegerField(default=0)  # 1 once it is the single row of its minute

    class Meta:
        table_name = "agent_samples"


class OtaBundle(BaseModel):
    id = CharField(primary_key=True)  # UUID
    app = ForeignKeyField(App, on_delete="CASCADE")
    version = CharField()
    sha256 = CharField()
    size = IntegerField()
    min_native_build = IntegerField(null=True)
    runtime_version = CharField(null=True)
    file_key = CharField()
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "ota_bundles"


class OtaUpload(BaseModel):
    id = CharField(primary_key=True)  # UUID, the uploadId
    app = ForeignKeyField(App, on_delete="CASCADE")
    version = CharField()
    size = IntegerField()
    sha256 = CharField()
    min_native_build = IntegerField(null=True)
    runtime_version = CharField(null=True)
    storage_key = CharField()
    received_size = IntegerField(null=True)
    received_sha256 = CharField(null=True)
    bundle = ForeignKeyField(OtaBundle, null=True, on_delete="SET NULL")
    expires_at = DateTimeField()
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "ota_uploads"


class OtaRelease(BaseModel):
    id = CharField(primary_key=True)  # UUID
    app = ForeignKeyField(App, on_delete="CASCADE")
    channel = CharField(null=True)  # None: the base channel
    runtime_version = CharField(null=True)
    bundle = ForeignKeyField(OtaBundle)
    force_immediate = IntegerField(default=0)
    promoted_by = ForeignKeyField(User, null=True, on_delete="SET NULL", column_name="promoted_by")
    promoted_at = DateTimeField(default=utcnow)
    reverted_at = DateTimeField(null=True)

    class Meta:
        table_name = "ota_releases"


class OtaLane(BaseModel):
    app = ForeignKeyField(App, on_delete="CASCADE")
    channel_key = CharField()   # "__base__" or the channel
    runtime_key = CharField()   # "__default__" or the runtime version
    release = ForeignKeyField(OtaRelease, null=True)
    manifest = TextField(null=True)  # the signed JSON devices get, built at release time
    etag = CharField(null=True)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "ota_lanes"
        primary_key = CompositeKey("app", "channel_key", "runtime_key")


class OtaEvent(BaseModel):
    event_id = CharField()
    app = ForeignKeyField(App, on_delete="CASCADE")
    release_id = CharField(null=True)
    action = CharField()
    platform = CharField()
    bundle_version = CharField()
    channel = CharField(null=True)
    runtime_version = CharField(null=True)
    native_build = CharField(null=True)
    detail = TextField(null=True)
    sent_at = CharField(null=True)
    received_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "ota_events"
