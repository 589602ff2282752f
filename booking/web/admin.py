"""Admin home: companies and their contracts."""
from flask import Blueprint, render_template

from .. import contract
from ..auth import role_required
from ..services import schedule

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@role_required("admin")
def home():
    terms = contract.current()
    return render_template("admin/home.html", companies=schedule.companies(), terms=terms)
