"""``foodtrace users create|list|disable|enable|reset-password``: the staff accounts of the console.

Passwords are asked for twice on the terminal (or read from standard input), never taken as an argument, and
stored as Argon2id hashes (:mod:`api.console.accounts`); a password set here must be changed at the first
sign-in.
"""

from __future__ import annotations

import click

from .console.accounts import STAFF_ROLES, Accounts
from .render import text_table
from .settings import get_settings

__all__ = ["COMMANDS", "users"]


def _accounts(path: str | None) -> Accounts:
    return Accounts(path or get_settings().service_db)


_db_option = click.option("--service-db", default=None, help="Service database file (default: $FOODTRACE_SERVICE_DB)")


def _password(prompt: str = "Password / 口令") -> str:
    return click.prompt(prompt, hide_input=True, confirmation_prompt=True, err=True)


@click.group("users")
def users() -> None:
    """Staff accounts of the console (signed-in pages); API keys stay for machines (`foodtrace keys`)."""


@users.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(STAFF_ROLES), help="What the user may do")
@click.option("--name", default=None, help="The person's name, shown in pages and the audit log")
@click.option("--district", default=None, help="A district officer's district (崇川区, 320602 ...): the only one "
                                                 "the user sees and acts on (role district)")
@click.option("--sso", is_flag=True, help="Signs in through the bureau's OpenID Connect provider only (no password)")
@_db_option
def users_create(username: str, role: str, name: str | None, district: str | None, sso: bool,
                 service_db: str | None) -> None:
    """Create an account; its password is asked for (twice) and must be changed at the first sign-in."""
    from ontology.handling import district_id

    password = None if sso else _password()
    acc = _accounts(service_db)
    try:
        user = acc.create_user(username, role=role, name=name, district=district_id(district), password=password,
                               sso=sso)
    finally:
        acc.close()
    click.echo(f"user {user.username} created, role {user.role}"
               + (f", district {user.district}" if user.district else "")
               + ("; signs in through single sign-on" if sso else "; the password must be changed at the first sign-in"))


@users.command("list")
@_db_option
def users_list(service_db: str | None) -> None:
    """List accounts (names, roles, districts, state; never passwords)."""
    import time

    acc = _accounts(service_db)
    try:
        rows = []
        for u in acc.users():
            state = "disabled" if u.disabled else ("locked" if u.locked_until and u.locked_until > time.time()
                                                   else "active")
            rows.append([u.username, u.name or "", u.role, u.district or "", "sso" if u.sso else "password",
                         state, u.created])
    finally:
        acc.close()
    click.echo(text_table(rows, ["用户/user", "姓名/name", "角色/role", "区县/district", "登录/sign-in",
                                 "状态/state", "创建/created"]))


@users.command("disable")
@click.argument("username")
@_db_option
def users_disable(username: str, service_db: str | None) -> None:
    """Disable an account (kept for the audit trail) and end its sessions."""
    acc = _accounts(service_db)
    try:
        acc.disable(username)
    finally:
        acc.close()
    click.echo(f"user {username} disabled")


@users.command("enable")
@click.argument("username")
@_db_option
def users_enable(username: str, service_db: str | None) -> None:
    """Enable a disabled or locked account again."""
    acc = _accounts(service_db)
    try:
        acc.enable(username)
    finally:
        acc.close()
    click.echo(f"user {username} enabled")


@users.command("reset-password")
@click.argument("username")
@_db_option
def users_reset_password(username: str, service_db: str | None) -> None:
    """Set a new password (asked for twice): the lock-out and the user's sessions end, and the user must change it
    at the next sign-in."""
    password = _password("New password / 新口令")
    acc = _accounts(service_db)
    try:
        acc.set_password(username, password, by_admin=True)
    finally:
        acc.close()
    click.echo(f"password of {username} reset; to be changed at the next sign-in")


COMMANDS = (users,)
