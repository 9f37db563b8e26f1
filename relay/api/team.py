"""Team: members, roles, invitations and password resets. Admin only."""
from flask import Blueprint, jsonify

from relay.api import shapes
from relay.api.common import current_user, id_or_404, json_body, no_content, ok
from relay.api.guard import action, services
from relay.core import team, team_settings

bp = Blueprint("team", __name__, url_prefix="/api/v1/team")


@bp.get("/members")
@action("team:read")
def members():
    return jsonify([shapes.member(u) for u in team.members()])


@bp.post("/invite")
@action("team:write")
def invite():
    body = json_body()
    inv, token = team.invite(current_user(), body.get("email"), body.get("role"))
    svc = services()
    link = team.invitation_link(svc.base_url, token)
    sent = team.send_invitation(svc.mailer, link, inv, team_settings.team_name())
    result = {"token": token, "emailSent": sent}
    if not sent:
        result["url"] = link  # for the Admin to share by hand
    return jsonify(result), 201


@bp.get("/invitations")
@action("team:read")
def invitations():
    return jsonify([shapes.invitation(inv) for inv in team.pending_invitations()])


@bp.delete("/invitations/<invitation_id>")
@action("team:write")
def cancel_invitation(invitation_id):
    team.cancel_invitation(id_or_404(invitation_id, "Invitation"))
    return no_content()


@bp.patch("/members/<member_id>")
@action("team:write")
def change_role(member_id):
    body = json_body()
    team.change_role(id_or_404(member_id, "Member"), body.get("role"))
    return ok()


@bp.delete("/members/<member_id>")
@action("team:write")
def delete_member(member_id):
    user = team.delete_member(current_user(), id_or_404(member_id, "Member"))
    services().store.delete(user.avatar)
    return no_content()


@bp.post("/members/<member_id>/send-reset")
@action("team:write")
def send_reset(member_id):
    svc = services()
    user, token = team.create_reset(id_or_404(member_id, "Member"))
    link = team.reset_link(svc.base_url, token)
    sent = team.send_reset(svc.mailer, link, user, team_settings.team_name())
    return ok(emailSent=sent, **({} if sent else {"url": link}))
