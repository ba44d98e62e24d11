"""``flask create-user`` and ``flask accounts purge-inactive``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from flask import Flask, current_app
from sqlalchemy import select

from models import Department, Startup
from models.vocabulary import ROLES

from ..database import db
from ..errors import DomainError
from ..services import accounts, privacy


def register(app: Flask) -> None:
    @app.cli.command("create-user")
    @click.option("--email", required=True)
    @click.option("--name", "display_name", required=True)
    @click.option("--role", type=click.Choice(ROLES), required=True)
    @click.option("--department", "department_code", help="Department code (officers).")
    @click.option("--startup", "startup_name", help="Startup name (startup members).")
    @click.option("--locale", type=click.Choice(["en", "zh_Hant_HK"]), default="en")
    @click.password_option()
    def create_user(email: str, display_name: str, role: str, department_code: str | None,
                    startup_name: str | None, locale: str, password: str) -> None:
        """Create an account of any role (officers, coordinators and admins are created this way)."""
        department = (
            db.scalar(select(Department).where(Department.code == department_code)) if department_code else None
        )
        if department_code and department is None:
            raise click.BadParameter(f"no department with code {department_code!r}", param_hint="--department")
        startup = db.scalar(select(Startup).where(Startup.name == startup_name)) if startup_name else None
        if startup_name and startup is None:
            raise click.BadParameter(f"no startup named {startup_name!r}", param_hint="--startup")
        try:
            user = accounts.create_user(
                None, email=email, password=password, display_name=display_name, role=role,
                department=department, startup=startup, locale=locale,
                verified=True,  # the operator vouches for the address
            )
        except DomainError as error:
            db.rollback()
            raise click.ClickException(error.message) from error
        db.commit()
        click.echo(f"Created {user.role} {user.email} (id {user.id}).")

    @app.cli.group("accounts")
    def accounts_group() -> None:
        """Account housekeeping."""

    @accounts_group.command("expire-unconfirmed")
    @click.option("--days", type=click.IntRange(min=1), help="Override UNCONFIRMED_REGISTRATION_DAYS.")
    @click.option("--dry-run", is_flag=True, help="List the registrations without changing them.")
    def expire_unconfirmed(days: int | None, dry_run: bool) -> None:
        """Remove startup registrations nobody confirmed within UNCONFIRMED_REGISTRATION_DAYS (frees their names)."""
        found = _days_to_act(days, "UNCONFIRMED_REGISTRATION_DAYS", dry_run, "registration(s) unconfirmed",
                             lambda d: [s.name for s in privacy.unconfirmed_registrations(d)])
        if found is None:
            return
        days = found
        removed, holds = privacy.expire_unconfirmed(days)
        db.commit()
        click.echo(f"Removed {removed} unconfirmed registration(s) and released {holds} held name(s) "
                   f"older than {days} days.")

    @accounts_group.command("purge-inactive")
    @click.option("--days", type=click.IntRange(min=1), help="Override ACCOUNT_RETENTION_DAYS.")
    @click.option("--dry-run", is_flag=True, help="List the accounts without changing them.")
    def purge_inactive(days: int | None, dry_run: bool) -> None:
        """Pseudonymise accounts with no sign-in for longer than ACCOUNT_RETENTION_DAYS (PDPO, DPP2)."""
        found = _days_to_act(days, "ACCOUNT_RETENTION_DAYS", dry_run, "account(s) inactive",
                             lambda d: [u.id for u in privacy.inactive_accounts(d)])
        if found is None:
            return
        days = found
        purged = privacy.purge_inactive(days)
        db.commit()
        click.echo(f"Pseudonymised {len(purged)} account(s) inactive for more than {days} days.")


def _days_to_act(given: int | None, setting: str, dry_run: bool, what: str,
                 listed: Callable[[int], list[Any]]) -> int | None:
    """The age in days a housekeeping command acts on: ``--days`` if given, else the app's
    ``setting``; None (having said why) when the setting is off or on a dry run, which lists
    what the command would change."""
    days = given or int(current_app.config.get(setting) or 0)
    if days <= 0:
        click.echo(f"{setting} is 0 or not set: nothing to do.")
        return None
    if dry_run:
        items = listed(days)
        click.echo(f"{len(items)} {what} for more than {days} days: {items}")
        return None
    return days
