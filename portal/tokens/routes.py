"""Personal access tokens for the API, on the user's account: create, list, revoke."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from models import ApiToken

from ..access import roles_required
from ..database import db
from ..errors import DomainError
from ..forms import CsrfForm
from ..services import accounts, api_tokens
from .forms import NewTokenForm

bp = Blueprint("tokens", __name__)


def _render(form: NewTokenForm, secret: str | None = None, status: int = 200) -> ResponseReturnValue:
    tokens = api_tokens.live_tokens(current_user)
    page = render_template("tokens/index.html", form=form, tokens=tokens, secret=secret, revoke_form=CsrfForm(),
                           staff_max_days=api_tokens.STAFF_MAX_DAYS)
    return page, status, {"Cache-Control": "no-store"}


@bp.route("/account/tokens", methods=["GET", "POST"])
@roles_required()
def index() -> ResponseReturnValue:
    """List the user's API tokens and create one (its secret is shown on this response only)."""
    form = NewTokenForm()
    if form.validate_on_submit():
        try:
            accounts.recheck_password(current_user, form.current_password.data, "api_token.create")
            created = api_tokens.create_token(current_user, form.data_for_service())
        except DomainError as error:
            # Every check comes before any change: what is left to keep is the counted
            # re-check of the password (accounts.recheck_password).
            db.commit()
            form.apply_domain_error(error)
        else:
            db.commit()
            # Rendered, not redirected: the secret must not travel through the session or a URL.
            return _render(NewTokenForm(formdata=None), secret=created.secret)
    return _render(form, status=400 if form.errors else 200)


@bp.post("/account/tokens/<int:token_id>/revoke")
@roles_required()
def revoke(token_id: int) -> ResponseReturnValue:
    """Revoke one of the user's tokens."""
    token = db.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)  # other people's tokens are not even known to exist
    form = CsrfForm()
    if form.validate_on_submit():
        try:
            api_tokens.revoke_token(current_user, token)
        except DomainError as error:
            db.rollback()
            flash(error.message, "error")
        else:
            db.commit()
            flash(_("Token \u201c%(name)s\u201d revoked. Requests that use it are now refused.", name=token.name),
                  "success")
    return redirect(url_for("tokens.index"))
