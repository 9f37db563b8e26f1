"""The team: members and roles, invitations (7 days) and password resets (2 hours)."""
import logging
from datetime import timedelta

from relay.core import accounts, onetime
from relay.core.errors import Conflict, Gone, Invalid, NotFound
from relay.core.hashing import hash_password, validate_password
from relay.core.mail import Mailer
from relay.db import database
from relay.models import Invitation, PasswordReset, User
from relay.timeutil import utcnow

log = logging.getLogger("relay.team")

INVITATION_TTL = timedelta(days=7)
RESET_TTL = timedelta(hours=2)
INVITATION_GONE = "Invitation expired or not found"
RESET_GONE = "Reset link expired or not found"


def members() -> list[User]:
    return list(User.select().order_by(User.id))


def get_member(member_id: int) -> User:
    user = User.get_or_none(User.id == member_id)
    if user is None:
        raise NotFound("Member not found")
    return user


def _admin_count() -> int:
    return User.select().where(User.role == "Admin").count()


def change_role(member_id: int, role) -> User:
    role = accounts.validate_role(role)
    with database.atomic("IMMEDIATE"):
        user = get_member(member_id)
        if user.role == "Admin" and role != "Admin" and _admin_count() <= 1:
            raise Invalid("The team must keep at least one Admin")
        User.update(role=role).where(User.id == user.id).execute()
    log.info("role of %s changed to %s", user.email, role)
    return user


def delete_member(actor: User, member_id: int) -> User:
    if member_id == actor.id:
        raise Invalid("You cannot delete yourself")
    with database.atomic("IMMEDIATE"):
        user = get_member(member_id)
        if user.role == "Admin" and _admin_count() <= 1:
            raise Invalid("The team must keep at least one Admin")
        user.delete_instance()
    log.info("member %s deleted by %s", user.email, actor.email)
    return user


# Invitations

def invite(inviter: User, email, role=None) -> tuple[Invitation, str]:
    email = accounts.validate_email(email)
    role = accounts.validate_role("QA" if role is None else role)
    with database.atomic("IMMEDIATE"):
        if User.select().where(User.email == email).exists():
            raise Conflict("A member with this email already exists")
        # One pending invitation per address: a new one replaces the old link.
        Invitation.delete().where(Invitation.email == email, Invitation.used_at.is_null()).execute()
        inv, token = onetime.issue(Invitation, INVITATION_TTL, email=email, role=role,
                                   invited_by=inviter)
    log.info("%s invited %s as %s", inviter.email, email, role)
    return inv, token


def pending_invitations() -> list[Invitation]:
    return list(Invitation.select().where(Invitation.used_at.is_null(),
                                          Invitation.expires_at > utcnow())
                .order_by(Invitation.created_at.desc()))


def cancel_invitation(invitation_id: int) -> Invitation:
    """Withdraw a pending invitation: its link stops working at once."""
    inv = Invitation.get_or_none(Invitation.id == invitation_id, Invitation.used_at.is_null())
    if inv is None:
        raise NotFound("Invitation not found")
    inv.delete_instance()
    log.info("invitation of %s withdrawn", inv.email)
    return inv


def verify_invitation(token) -> Invitation:
    inv = onetime.find_valid(Invitation, token)
    if inv is None:
        raise Gone(INVITATION_GONE)
    return inv


def accept_invitation(token, password, display_name, rounds: int, avatar: str | None = None) -> User:
    """Create the invited account. The token is consumed in the same transaction."""
    validate_password(password)
    name = accounts.validate_display_name(display_name or "")
    hashed = hash_password(password, rounds)
    with database.atomic("IMMEDIATE"):
        inv = onetime.consume(Invitation, token)
        if inv is None:
            raise Gone(INVITATION_GONE)
        if User.select().where(User.email == inv.email).exists():
            raise Conflict("A member with this email already exists")
        user = accounts.create_user(inv.email, hashed, inv.role, name, avatar)
    log.info("%s joined as %s", user.email, user.role)
    return user


def invitation_link(base_url: str, token: str) -> str:
    return f"{base_url}/invite?token={token}"


def send_invitation(mailer: Mailer, link: str, inv: Invitation, team_name: str) -> bool:
    body = (f"You have been invited to join {team_name} on Relay as {inv.role}.\n\n"
            f"Accept the invitation and choose a password:\n{link}\n\n"
            "The link works once and expires in 7 days.\n")
    return mailer.send(inv.email, f"Join {team_name} on Relay", body)


# Password resets

def create_reset(member_id: int) -> tuple[User, str]:
    user = get_member(member_id)
    with database.atomic():
        PasswordReset.delete().where(PasswordReset.user == user,
                                     PasswordReset.used_at.is_null()).execute()
        _row, token = onetime.issue(PasswordReset, RESET_TTL, user=user)
    log.info("password reset issued for %s", user.email)
    return user, token


def verify_reset(token) -> PasswordReset:
    row = onetime.find_valid(PasswordReset, token)
    if row is None:
        raise Gone(RESET_GONE)
    return row


def reset_password(token, password, rounds: int) -> User:
    validate_password(password)
    hashed = hash_password(password, rounds)
    with database.atomic("IMMEDIATE"):
        row = onetime.consume(PasswordReset, token)
        if row is None:
            raise Gone(RESET_GONE)
        user = row.user
        accounts.set_password_hash(user, hashed)
    log.info("password reset used by %s", user.email)
    return user


def reset_link(base_url: str, token: str) -> str:
    return f"{base_url}/reset-password?token={token}"


def send_reset(mailer: Mailer, link: str, user: User, team_name: str) -> bool:
    body = (f"A password reset was requested for your {team_name} account on Relay.\n\n"
            f"Choose a new password here:\n{link}\n\n"
            "The link works once and expires in 2 hours.\n")
    return mailer.send(user.email, f"Reset your {team_name} password", body)
