"""Display names for codes stored in the database (French msgids, translated by Babel)."""

from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as pgettext  # lazy; under this name pybabel extracts it with its context

ROLES = {
    "client": _l("Client"),
    "consultant": _l("Consultant"),
    "planner": _l("Planificateur"),
    "admin": _l("Administrateur"),
}
KINDS = {
    "erplib": _l("Session ERP-Lib (45 min)"),
    "callback": _l("Créneau de rappel"),
    "minor_update": _l("Mise à jour mineure"),
    "major_install": _l("Version majeure (test ou production)"),
    "major_install_test": _l("Version majeure en test"),
    "priority_consulting": _l("Conseil prioritaire"),
}
STATUSES = {
    "held": _l("Réservé provisoirement"),
    "confirmed": _l("Confirmé"),
    "completed": _l("Réalisé"),
    "no_show": _l("Absent"),
    "cancelled": _l("Annulé"),
    "late_cancelled": _l("Annulé tardivement"),
    "expired": _l("Expiré"),
    "prerequisites_missing": _l("Prérequis manquants"),
    "requested": _l("Demandée"),
    "accepted": _l("Acceptée"),
    "planned": _l("Planifiée"),
    "applied": _l("Appliquée"),
    "refused": _l("Refusée"),
}
ACCESS = {
    "no": _l("non inclus"),
    "yes": _l("inclus"),
    "billable": _l("facturable"),
    "quote": _l("sur devis"),
    "hour_bank": _l("inclus dans la banque d'heures, puis facturable"),
}


def minutes_label(minutes: int) -> str:
    hours, rest = divmod(int(minutes), 60)
    if hours and rest:
        return f"{hours} h {rest:02d}"
    if hours:
        return f"{hours} h"
    return ngettext("%(num)d minute", "%(num)d minutes", rest)


def business_delay_label(delay) -> str:
    """A contract's delay in business hours or days (BusinessDuration): « 4 h », « 1 j »; "4 hours", "1 day"."""
    if delay.unit == "j":
        return ngettext("%(num)d j", "%(num)d j", delay.amount)
    return ngettext("%(num)d h", "%(num)d h", delay.amount)


def duration_label(amount: int, unit: str) -> str:
    """A priority request's duration: « 1 jour », « 3 heures »; "1 day", "3 hours"."""
    if unit == "days":
        return ngettext("%(num)d jour", "%(num)d jours", amount)
    return ngettext("%(num)d heure", "%(num)d heures", amount)


ENTRIES = {
    "grant": _l("Dotation annuelle"),
    "reserve": _l("Séance réservée"),
    "refund": _l("Remboursement"),
    "consume": _l("Séance consommée"),
    "adjust": _l("Ajustement"),
    "expire": _l("Fin d'année contractuelle"),
}
# A ledger line's note is a code (hour_bank.refund's callers); text written by a person is shown as written.
LEDGER_NOTES = {
    "timely_cancel": _l("Annulation dans les délais"),
    "other_contract_year": _l("Déplacé sur une autre année contractuelle"),
    "other_tier": _l("Déplacé après un changement de formule"),
}
PRIORITIES = {"bloquante": _l("Bloquante"), "majeure": _l("Majeure"), "mineure": _l("Mineure"), "basse": _l("Basse")}
ENVIRONMENTS = {"test": _l("Test"), "production": _l("Production")}
# The skills a consultant may have (codes, chosen on the consultant's page; services.consultants refuses any
# other): the contract's services name theirs among them (tests/test_contract.py checks it).
SKILLS = {
    "comptabilite": _l("Comptabilité"),
    "paie": _l("Paie"),
    "production": _l("Production"),
    "logistique": _l("Logistique"),
    "achats": _l("Achats"),
    "installation": _l("Installation"),
    "migration": _l("Migration"),
}
# The contract's default checklist (contract.toml): listed here so that it is extracted and translated. A label
# an admin rewrote is not in the catalogue and shows as written.
PREREQUISITES = (
    _l("Mises à jour du système d'exploitation effectuées"),
    _l("Correctifs système appliqués"),
    _l("Sessions utilisateurs fermées"),
    _l("Serveur redémarré"),
)


def prerequisite_label(label: str) -> str:
    """A prerequisite's contract label in the reader's language when the catalogue has it."""
    return gettext(label)  # the default labels are msgids (PREREQUISITES); others come back unchanged


def skills_label(skills) -> str:
    return ", ".join(str(SKILLS.get(s, s)) for s in skills)


# The audit log's actions (audit.record's codes, tests/test_back_office.py checks none is missing); the journal
# shows the code beside its label, for support.
AUDIT_ACTIONS = {
    "booking.hold": _l("Rendez-vous réservé provisoirement"),
    "booking.hold_expired": _l("Réservation provisoire expirée"),
    "booking.confirm": _l("Rendez-vous confirmé"),
    "booking.reschedule": _l("Rendez-vous déplacé"),
    "booking.cancel": _l("Rendez-vous annulé"),
    "booking.completed": _l("Rendez-vous réalisé"),
    "booking.no_show": _l("Client absent au rendez-vous"),
    "booking.callback_at_risk": _l("Rappel en retard sur l'engagement de prise en charge"),
    "ticket.call_requested": _l("Rappel demandé, aucun créneau avant l'échéance"),
    "ticket.called": _l("Client rappelé"),
    "booking.prerequisite": _l("Prérequis coché ou décoché"),
    "booking.prerequisites_missing": _l("Intervention arrêtée faute de prérequis"),
    "booking.analysis_notes": _l("Analyse de l'environnement modifiée"),
    "booking.version_changes": _l("Changements de la version modifiés"),
    "booking.reshuffle": _l("Rendez-vous déplacé par un plan de réorganisation"),
    "booking.priority": _l("Conseil prioritaire planifié"),
    "priority.request": _l("Conseil prioritaire demandé"),
    "priority.accept": _l("Demande de conseil prioritaire acceptée"),
    "priority.refuse": _l("Demande de conseil prioritaire refusée"),
    "priority.quote_ready": _l("Devis de conseil prioritaire prêt"),
    "priority.quote_accepted": _l("Devis accepté par le client"),
    "priority.quote_agreed_by_phone": _l("Devis accepté par téléphone"),
    "priority.consulting_not_billed": _l("Conseil prioritaire non facturé"),
    "reshuffle.apply": _l("Plan de réorganisation appliqué"),
    "hour_bank.low": _l("Banque d'heures bientôt épuisée"),
    "hour_bank.exhausted": _l("Banque d'heures épuisée"),
    "company.create": _l("Entreprise créée"),
    "company.update": _l("Entreprise modifiée"),
    "company.deactivate": _l("Entreprise désactivée"),
    "company.reactivate": _l("Entreprise réactivée"),
    "contract.change": _l("Changement de formule enregistré"),
    "contract.change_cancel": _l("Changement de formule annulé"),
    "contract.apply": _l("Contrat mis en vigueur"),  # a new contract text, or a company's planned tier from its day
    "consultant.create": _l("Consultant ajouté"),
    "consultant.update": _l("Consultant modifié"),
    "consultant.absence": _l("Absence déclarée"),
    "consultant.absence_update": _l("Absence modifiée"),
    "consultant.absence_delete": _l("Absence supprimée"),
    "calendar.queued": _l("Calendrier ajouté, import en attente"),
    "calendar.import": _l("Calendrier importé"),
    "feed.issue": _l("Nouvelle adresse d'abonnement iCal"),
    "feed.revoke": _l("Abonnement iCal révoqué"),
    "user.create": _l("Compte créé"),
    "user.invite": _l("Utilisateur invité"),
    "user.reactivate": _l("Compte réactivé"),
    "user.deactivate": _l("Compte désactivé"),
    "user.main_contact": _l("Contact principal modifié"),
    "user.role": _l("Rôle modifié"),
    "user.reset_link": _l("Lien de mot de passe envoyé"),
    "user.password": _l("Mot de passe modifié"),
    "user.unlock": _l("Connexion débloquée"),
    "user.sessions_end": _l("Sessions fermées"),
    "api_token.create": _l("Jeton d'API créé"),
    "api_token.revoke": _l("Jeton d'API révoqué"),
    "webhook.create": _l("Abonnement webhook créé"),
    "webhook.update": _l("Abonnement webhook modifié"),
    "webhook.delete": _l("Abonnement webhook supprimé"),
    "webhook.rotate": _l("Secret de webhook remplacé"),
}


# The journal's objects: audit.record stores `type(obj).__name__.lower()`; a type not listed shows as stored.
# "Rendez-vous" alone is also the bookings page's title, plural in English: the booking has a context.
AUDIT_OBJECTS = {
    "booking": pgettext("objet du journal", "Rendez-vous"),
    "company": _l("Entreprise"),
    "consultant": _l("Consultant"),
    "absence": _l("Absence"),
    "user": _l("Utilisateur"),
    "apitoken": _l("Jeton d'API"),
    "feedtoken": _l("Abonnement iCal"),
    "externalcalendar": _l("Calendrier externe"),
    "webhooksubscription": _l("Abonnement webhook"),
    "priorityrequest": _l("Demande de conseil prioritaire"),
    "reshuffleplan": _l("Plan de réorganisation"),
    "contractversion": _l("Version du contrat"),
    "ticket": _l("Ticket"),
}


def numbered(number) -> str:
    """ "n° 12" / "no. 12", with a non-breaking space: the number never starts a line of its own."""
    return gettext("n°\u00a0%(number)s", number=number)


def object_label(object_type: str, object_id: int | None) -> str:
    """ "Rendez-vous n° 522": a journal entry's object in the reader's language."""
    thing = str(AUDIT_OBJECTS.get(object_type, object_type))
    return thing if object_id is None else f"{thing} {numbered(object_id)}"


SECTIONS = {
    "client": [
        ("portal.home", _l("Accueil")),
        ("book.services", _l("Réserver")),
        ("book.mine", _l("Mes rendez-vous")),
        ("priority_client.index", _l("Conseil prioritaire")),
        ("portal.hour_bank_page", _l("Banque d'heures et facturation")),
        ("calendars.agenda", _l("Agenda")),
        ("contacts.home", _l("Contacts")),
    ],
    "consultant": [("consultant.home", _l("Mon planning")), ("calendars.agenda", _l("Agenda et calendriers"))],
    "planner": [
        ("planner.home", _l("Planification")),
        ("dashboard.index", _l("Tableau de bord")),
        ("planner_week.show", _l("Semaine")),
        ("consultants.index", _l("Consultants")),
        ("absences.declare", _l("Absences")),
        ("planner.interventions_page", _l("Interventions")),
        ("calendars.conflicts", _l("Conflits d'agenda")),
        ("why_not.index", _l("Pourquoi pas libre ?")),
        ("planner.billing_index", _l("Facturation")),
        ("outbox.index", _l("Courrier")),
        ("audit_log.index", _l("Journal")),
    ],
    "admin": [
        ("admin.home", _l("Administration")),
        ("admin.users", _l("Utilisateurs")),
        ("policy.index", _l("Contrat et règles")),
        ("planner.home", _l("Planification")),
        ("dashboard.index", _l("Tableau de bord")),
        ("consultants.index", _l("Consultants")),
        ("planner.interventions_page", _l("Interventions")),
        ("why_not.index", _l("Pourquoi pas libre ?")),
        ("planner.billing_index", _l("Facturation")),
        ("outbox.index", _l("Courrier")),
        ("audit_log.index", _l("Journal")),
        ("webhooks.index", _l("Webhooks")),
    ],
}


def helpers() -> dict:
    """Template globals."""
    return {
        "role_label": lambda code: ROLES.get(code, code),
        "kind_label": lambda code: KINDS.get(code, code),
        "status_label": lambda code: STATUSES.get(code, code),
        "access_label": lambda code: ACCESS.get(code, code),
        "minutes_label": minutes_label,
        "delay_label": business_delay_label,
        "duration_label": duration_label,
        "entry_label": lambda code: ENTRIES.get(code, code),
        "ledger_note": lambda note: LEDGER_NOTES.get(note, note),
        "priority_label": lambda code: PRIORITIES.get(code, code),
        "environment_label": lambda code: ENVIRONMENTS.get(code, code),
        "skill_label": lambda code: SKILLS.get(code, code),
        "skills_label": skills_label,
        "prerequisite_label": prerequisite_label,
        "action_label": lambda code: AUDIT_ACTIONS.get(code, code),
        "object_label": object_label,
        "sections": lambda user: SECTIONS.get(user.role, []),
    }
