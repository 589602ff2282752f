"""Command line: users and tokens, demo data, the scheduler."""
import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from .extensions import db
from .models import User
from .services import tokens

users = AppGroup("users", help="Comptes et jetons d'API.")


def _user(email: str) -> User:
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"Aucun utilisateur avec l'e-mail {email}.")
    return user


@users.command("token")
@click.argument("email")
@click.option("--label", default="cli", help="Nom du jeton, pour le retrouver.")
def token_command(email: str, label: str) -> None:
    """Crée un jeton d'API pour EMAIL et l'affiche (une seule fois)."""
    raw = tokens.create(_user(email), label)
    db.session.commit()
    click.echo(raw)


@users.command("set-password")
@click.argument("email")
@click.password_option()
def set_password(email: str, password: str) -> None:
    """Change le mot de passe de EMAIL."""
    _user(email).set_password(password)
    db.session.commit()
    click.echo("Mot de passe changé.")


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


def init_app(app) -> None:
    app.cli.add_command(users)
    for command in (demo_command, scheduler_command, serve_command):
        app.cli.add_command(command)
