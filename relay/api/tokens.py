"""Personal access tokens of the signed-in user."""
import logging

from flask import Blueprint, jsonify

from relay.api import shapes
from relay.api.common import current_user, id_or_404, json_body, no_content
from relay.api.guard import action
from relay.core import tokens

bp = Blueprint("tokens", __name__, url_prefix="/api/v1/tokens")
log = logging.getLogger("relay.tokens")



@bp.get("")
@action("account")
def list_tokens():
    return jsonify([shapes.token(t) for t in tokens.list_for(current_user())])


@bp.post("")
@action("account")
def create_token():
    body = json_body()
    user = current_user()
    row, plain = tokens.create(user, body.get("name"), body.get("scope"),
                               body.get("expires_in_days"))
    log.info("%s created token %r (%s)", user.email, row.name, row.scope)
    return jsonify({"token": plain, **shapes.token(row)}), 201


@bp.delete("/<token_id>")
@action("account")
def revoke_token(token_id):
    tokens.revoke(current_user(), id_or_404(token_id, "Token"))
    return no_content()
