"""Command line: users and tokens, demo data, the scheduler."""

from datetime import timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from .extensions import db
from .models import User
from .models.types import utcnow
from .services import accounts, logins, tokens
from .services.errors import ServiceError

users = AppGroup("users", help="Comptes et jetons d'API.")


def _user(email: str) -> User:
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"Aucun utilisateur avec l'e-mail {email}.")
    return user


@users.command("token")
@click.argument("email")
@click.option("--label", default="cli", help="Nom du jeton, pour le retrouver.")
@click.option("--days", type=click.IntRange(1, 3650), default=None, help="Durée de validité (sans : pas d'expiration).")
def token_command(email: str, label: str, days: int | None) -> None:
    """Crée un jeton d'API pour EMAIL et l'affiche (une seule fois)."""
    raw = tokens.create(_user(email), label, utcnow() + timedelta(days=days) if days else None)
    db.session.commit()
    click.echo(raw)


@users.command("tokens")
@click.argument("email")
def tokens_command(email: str) -> None:
    """Liste les jetons d'API de EMAIL (jamais leur secret)."""
    now, states = utcnow(), {"active": "actif", "revoked": "révoqué", "expired": "expiré"}
    for t in tokens.of(_user(email)):
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "jamais"
        expires = f"{t.expires_at:%Y-%m-%d %H:%M}" if t.expires_at else "aucune"
        click.echo(
            f"{t.id:>6}  {t.label or '-':<24} créé {t.created_at:%Y-%m-%d %H:%M}  utilisé {used}  "
            f"expiration {expires}  {states[t.state(now)]}"
        )


@users.command("revoke-token")
@click.argument("token")
@click.option("--user", "email", default=None, help="E-mail du titulaire, quand plusieurs jetons ont ce nom.")
def revoke_token_command(token: str, email: str | None) -> None:
    """Révoque le jeton TOKEN (son numéro ou son nom) : il cesse de fonctionner aussitôt."""
    try:
        found = tokens.find(token, email)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    tokens.revoke(found)
    db.session.commit()
    click.echo(f"Jeton n° {found.id} « {found.label} » de {found.user.email} révoqué.")


@users.command("unlock")
@click.argument("email")
def unlock_command(email: str) -> None:
    """Efface les échecs de connexion de EMAIL : il peut réessayer sans attendre."""
    user = _user(email)
    had = logins.unlock_now(None, user)
    click.echo(f"{user.email} débloqué." if had else f"{user.email} n'avait pas d'échec de connexion en cours.")


@users.command("set-password")
@click.argument("email")
@click.password_option()
def set_password(email: str, password: str) -> None:
    """Change le mot de passe de EMAIL (ses sessions ouvertes sont fermées)."""
    try:
        accounts.set_password_now(None, _user(email), password)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo("Mot de passe changé ; les sessions ouvertes sont fermées.")


@click.command("demo")
def demo_command() -> None:
    """Crée les données de démonstration (sans effet si elles existent déjà) et affiche les comptes."""
    from .demo import DEMO_PASSWORD, ensure_demo

    logins = ensure_demo()
    click.echo(f"Comptes de démonstration (mot de passe : {DEMO_PASSWORD}) :")
    for role, email in logins:
        click.echo(f"  {role:<11} {email}")


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Exécute chaque tâche une fois puis s'arrête.")
def scheduler_command(once: bool) -> None:
    """Lance le planificateur de tâches seul (à côté de gunicorn en production)."""
    from flask import current_app

    from .jobs import run_all_once, run_blocking

    app = current_app._get_current_object()
    if once:
        for name, result in run_all_once(app).items():
            click.echo(f"{name}: {'non exécutée (un autre planificateur a la main)' if result is None else result}")
        return
    run_blocking(app)


@click.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
def serve_command(host: str, port: int) -> None:
    """Serveur de développement avec le planificateur dans le même processus (make run)."""
    from flask import current_app
    from werkzeug.serving import run_simple

    from .jobs import start_in_process

    app = current_app._get_current_object()
    start_in_process(app)
    click.echo(f"ERP-Lib Planner : http://{host}:{port}/")
    # Flask's app.run() refuses to run under the flask command; werkzeug's server is what it uses.
    run_simple(host, port, app, use_reloader=False, threaded=True)


calendars = AppGroup("calendars", help="Flux iCal et calendriers extérieurs.")


def _consultant(email: str):
    user = _user(email)
    if user.consultant is None:
        raise click.ClickException(f"{email} n'est pas un consultant.")
    return user.consultant


@calendars.command("import")
@click.argument("email")
@click.argument("source")
def import_command(email: str, source: str) -> None:
    """Importe le calendrier SOURCE (fichier ou URL) pour le consultant EMAIL."""
    from datetime import timedelta
    from pathlib import Path

    from .models import ExternalBusy, ExternalCalendar
    from .models.types import utcnow
    from .services import calendar_sync
    from .services.errors import ServiceError

    consultant, now = _consultant(email), utcnow()
    is_url = source.startswith(("http://", "https://"))
    existing = db.session.scalar(
        select(ExternalCalendar).where(
            ExternalCalendar.consultant_id == consultant.id,
            ExternalCalendar.url == source if is_url else ExternalCalendar.label == Path(source).name,
        )
    )
    try:
        data = None if is_url else Path(source).read_bytes()
    except OSError as error:
        raise click.ClickException(f"Fichier illisible : {error.strerror} ({source}).") from None
    try:
        if existing is not None:
            calendar_sync.reimport(existing, now, data)
        else:
            calendar_sync.add(
                None,
                consultant,
                source if is_url else Path(source).name,
                now,
                url=source if is_url else None,
                data=data,
            )
    except (ServiceError, calendar_sync.CalendarImportError) as error:
        raise click.ClickException(f"Import refusé, plages précédentes conservées : {error}") from None  # French
    count = db.session.scalar(
        select(func.count())
        .select_from(ExternalBusy)
        .where(
            ExternalBusy.consultant_id == consultant.id,
            ExternalBusy.end_at > now,
            ExternalBusy.start_at < now + timedelta(days=90),
        )
    )
    click.echo(f"{count} plages occupées dans les 90 prochains jours pour {email}.")


@calendars.command("feed-url")
@click.argument("email")
def feed_url_command(email: str) -> None:
    """Crée une nouvelle adresse de flux pour le consultant EMAIL (l'ancienne cesse de fonctionner)."""
    from flask import current_app

    from .services import feeds

    raw = feeds.issue(None, _consultant(email))
    click.echo(f"{current_app.config['PUBLIC_URL'].rstrip('/')}/calendars/{raw}.ics")


def init_app(app) -> None:
    app.cli.add_command(users)
    app.cli.add_command(calendars)
    for command in (demo_command, scheduler_command, serve_command):
        app.cli.add_command(command)
