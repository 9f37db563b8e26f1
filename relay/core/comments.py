"""Comments on builds, with an optional screenshot attachment."""
from peewee import JOIN

from relay.core import builds
from relay.core.errors import Forbidden, Invalid, NotFound
from relay.db import database
from relay.models import Comment, CommentAttachment, User

MAX_BODY = 10_000


def validate_body(body) -> str:
    if not isinstance(body, str) or not body.strip():
        raise Invalid("body required")
    if len(body) > MAX_BODY:
        raise Invalid(f"body must be at most {MAX_BODY} characters")
    return body.strip()


def for_build(build_id: int) -> list[tuple[Comment, User | None, list[CommentAttachment]]]:
    builds.get(build_id)
    comments = list(Comment.select(Comment, User).join(User, on=(Comment.author == User.id),
                                                       join_type=JOIN.LEFT_OUTER)
                    .where(Comment.build == build_id).order_by(Comment.created_at, Comment.id))
    attachments: dict[int, list] = {}
    if comments:
        for a in CommentAttachment.select().where(CommentAttachment.comment.in_([c.id for c in comments])):
            attachments.setdefault(a.comment_id, []).append(a)
    return [(c, c.author if c.author_id else None, attachments.get(c.id, [])) for c in comments]


def create(build_id: int, author: User, body, attachment: tuple[str, str] | None) -> Comment:
    body = validate_body(body)
    with database.atomic():
        builds.get(build_id)
        comment = Comment.create(build=build_id, author=author, author_email=author.email, body=body)
        if attachment:
            key, mime = attachment
            CommentAttachment.create(comment=comment, file_key=key, mime=mime)
    return comment


def delete(comment_id: int, actor: User) -> list[str]:
    """Delete a comment (its author or an Admin); returns the attachment keys to remove."""
    with database.atomic():
        comment = Comment.get_or_none(Comment.id == comment_id)
        if comment is None:
            raise NotFound("Comment not found")
        if comment.author_id != actor.id and actor.role != "Admin":
            raise Forbidden("Only the author or an Admin can delete this comment")
        keys = [a.file_key for a in CommentAttachment.select().where(CommentAttachment.comment == comment)]
        comment.delete_instance()
    return keys
