"""Typed models, one module per aggregate."""

from .audit import AuditEntry
from .bookings import (
    ACTIVE_STATUSES,
    KINDS,
    LONGEST,
    PRIORITIES,
    STATUSES,
    Booking,
    PrerequisiteCheck,
    PriorityRequest,
    Ticket,
    overlapping,
    with_status,
)
from .calendars import ExternalBusy, ExternalCalendar, FeedToken
from .companies import TIERS, Company, ContractPeriod
from .contract_versions import ContractVersion
from .jobs import Alert, SchedulerLease
from .ledger import LedgerEntry
from .outbox import IdempotentRequest, OutboxMessage
from .people import ROLES, Absence, ApiToken, Consultant, PasswordLink, User
from .reshuffles import Compensation, ReshufflePlan
from .schedule import ScheduleVersion
from .webhooks import WebhookDelivery, WebhookSubscription

__all__ = [
    "ACTIVE_STATUSES",
    "KINDS",
    "LONGEST",
    "PRIORITIES",
    "ROLES",
    "STATUSES",
    "TIERS",
    "Absence",
    "Alert",
    "ApiToken",
    "AuditEntry",
    "Booking",
    "Company",
    "Compensation",
    "Consultant",
    "ContractPeriod",
    "ContractVersion",
    "ExternalBusy",
    "ExternalCalendar",
    "FeedToken",
    "IdempotentRequest",
    "LedgerEntry",
    "PasswordLink",
    "ReshufflePlan",
    "OutboxMessage",
    "PrerequisiteCheck",
    "SchedulerLease",
    "PriorityRequest",
    "ScheduleVersion",
    "Ticket",
    "User",
    "WebhookDelivery",
    "WebhookSubscription",
    "overlapping",
    "with_status",
]
