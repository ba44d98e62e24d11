"""The notification bell and list, email preferences, and following challenges."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from models import Challenge, Notification

from ..access import can_view_challenge
from ..database import db
from ..errors import DomainError
from ..forms import CsrfForm, page_number
from ..security import is_safe_local_path
from ..services import notifications
from .forms import PreferencesForm

bp = Blueprint("notifications", __name__)
log = logging.getLogger("innomatch.notifications")


@bp.app_template_global("unread_notifications")
def unread_notifications() -> int:
    """The signed-in user's unread notification count, for the bell (0 if it cannot be read)."""
    try:
        return notifications.unread_count(current_user)
    except SQLAlchemyError:  # the header must render even on an error page after a failed query
        log.warning("cannot count unread notifications", exc_info=True)
        return 0


@bp.app_template_global("is_following")
def is_following(challenge: Challenge) -> bool:
    """Whether the signed-in user follows ``challenge``, for the follow button."""
    return notifications.is_following(current_user, challenge)


@bp.app_template_global("notification_html")
def notification_html(notification: Notification) -> Markup:
    """A notification worded in the page's language."""
    return notifications.message_html(notification)


def _own(notification_id: int) -> Notification:
    """The signed-in user's notification, or 404 (other people's are not revealed)."""
    notification = db.get(Notification, notification_id)
    if notification is None or notification.user_id != current_user.id:
        abort(404)
    return notification


def _back(default: str) -> str:
    target = request.form.get("next") or ""
    return target if is_safe_local_path(target) else default


@bp.get("/notifications")
@login_required
def index() -> ResponseReturnValue:
    """List the user's notifications, newest first."""
    page = notifications.list_notifications(current_user, page_number())
    return render_template("notifications/index.html", page=page, form=CsrfForm())


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def read(notification_id: int) -> ResponseReturnValue:
    """Mark one notification read; with ``open`` go to what it is about."""
    notification = _own(notification_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    notifications.mark_read(current_user, notification)
    db.commit()
    if request.form.get("open") and is_safe_local_path(notification.link):
        return redirect(notification.link)
    return redirect(_back(url_for("notifications.index")))


@bp.post("/notifications/read-all")
@login_required
def read_all() -> ResponseReturnValue:
    """Mark all the user's notifications read."""
    if not CsrfForm().validate_on_submit():
        abort(400)
    count = notifications.mark_all_read(current_user)
    db.commit()
    if count:
        flash(_("All notifications marked as read."), "success")
    return redirect(_back(url_for("notifications.index")))


@bp.route("/notifications/preferences", methods=["GET", "POST"])
@login_required
def preferences() -> ResponseReturnValue:
    """Choose immediate emails, a daily digest or no emails."""
    form = PreferencesForm(data={"notify": current_user.notify} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            notifications.set_preference(current_user, form.notify.data)
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            flash(_("Your notification settings are saved."), "success")
            return redirect(url_for("notifications.preferences"))
    return render_template("notifications/preferences.html", form=form), 400 if form.errors else 200


def _challenge(challenge_id: int) -> Challenge:
    challenge = db.get(Challenge, challenge_id)
    if challenge is None or not can_view_challenge(current_user, challenge):
        abort(404)
    return challenge


@bp.post("/challenges/<int:challenge_id>/follow")
@login_required
def follow(challenge_id: int) -> ResponseReturnValue:
    """Follow a challenge to be notified of its changes."""
    challenge = _challenge(challenge_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        notifications.follow_challenge(current_user, challenge)
    except DomainError as error:
        db.rollback()
        abort(403, error.message)
    db.commit()
    flash(_("You are following this challenge. We will notify you when it changes."), "success")
    return redirect(_back(url_for("challenges.detail", challenge_id=challenge.id)))


@bp.post("/challenges/<int:challenge_id>/unfollow")
@login_required
def unfollow(challenge_id: int) -> ResponseReturnValue:
    """Stop following a challenge."""
    challenge = _challenge(challenge_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    notifications.unfollow_challenge(current_user, challenge)
    db.commit()
    flash(_("You no longer follow this challenge."), "success")
    return redirect(_back(url_for("challenges.detail", challenge_id=challenge.id)))
