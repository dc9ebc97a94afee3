"""Import every model, so metadata is complete for migrations and tests."""

from webapp.accounts.models import Login, MentorTag, User
from webapp.billing.models import (
    DirectPayment,
    Dispute,
    FreelanceJob,
    Invoice,
    InvoiceChange,
    LedgerEntry,
    Review,
    Transfer,
)
from webapp.chat.models import Conversation, Message, ReadMarker, SpecialRate
from webapp.notifications.models import Notification
from webapp.requests.models import HelpRequest, HelpRequestTag
from webapp.sessions.models import LiveSession, Presence, SessionEvent

__all__ = [
    "Conversation",
    "DirectPayment",
    "Dispute",
    "FreelanceJob",
    "HelpRequest",
    "HelpRequestTag",
    "Invoice",
    "InvoiceChange",
    "LedgerEntry",
    "LiveSession",
    "Login",
    "MentorTag",
    "Message",
    "Notification",
    "Presence",
    "ReadMarker",
    "Review",
    "SessionEvent",
    "SpecialRate",
    "Transfer",
    "User",
]
