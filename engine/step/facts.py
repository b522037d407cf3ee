"""What a step reads with its locked dossier besides the rows themselves, so that what it
may need later costs no round trip of its own.

- The **national record's facts** (:mod:`engine.national`): how many records of the dossier
  earlier transactions queued, how many of its payments are paid, and whether its
  applicant's account is verified with the national identity. A status change needs them
  and about half of all steps change the status; three index look-ups in a statement the
  step sends anyway cost less than a statement of their own in the other half. They are
  read under the dossier's lock: records are queued only by a transaction holding it, and
  the step's own records are counted by its unit of work.
- The **calendar's revision** (:mod:`engine.revisions`): the working calendar and the
  settings read under that number are kept by the process (:mod:`engine.calendar`), so a
  step that counts working days reads them only when an administrator changed them.

:func:`engine.step.load.read_locked_row` hands both to the transaction's unit of work
(``Unit.national_facts``, ``Unit.calendar_revision``).
"""

from __future__ import annotations

from sqlalchemy import exists, func, select

from ..identity_models import IdentityLink
from ..models import Dossier, Outbox, User
from ..payment_models import Payment
from ..revisions import CALENDAR_NUMBER

#: The outbox kind of the national portal's records (``engine.national.KIND``).
NATIONAL_KIND = "national_sync"

#: The columns a locked read adds, correlated to its dossier row, in this order.
COLUMNS = (
    CALENDAR_NUMBER,
    select(func.count()).select_from(Outbox)
    .where(Outbox.dossier_id == Dossier.id, Outbox.kind == NATIONAL_KIND)
    .scalar_subquery().label("national_sent"),
    select(func.count()).select_from(Payment)
    .where(Payment.dossier_id == Dossier.id, Payment.status == "paid")
    .scalar_subquery().label("national_paid"),
    exists().where(IdentityLink.user_id == Dossier.applicant_id).label("national_verified"),
)


#: What a submission's first statement adds (correlated to the applicant's account): the
#: calendar's revision and whether the applicant's identity is verified — all the new
#: dossier's first national record reads (it has no earlier record and no payment).
ON_SUBMISSION = (
    CALENDAR_NUMBER,
    exists().where(IdentityLink.user_id == User.id).label("applicant_verified"),
)


def keep(unit, dossier_id: int, values) -> None:
    """Hand a locked read's :data:`COLUMNS` values to the transaction's ``unit``."""
    revision, sent, paid, verified = values
    unit.calendar_revision = revision
    unit.national_facts[dossier_id] = (int(sent or 0), int(paid or 0), bool(verified))
