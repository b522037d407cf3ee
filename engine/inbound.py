"""Messages from other systems: a dossier that arrives from outside the portal.

A **system account** (``user_account.kind == "system"``, e.g. the national public-service
portal's or a ministry's connector) posts a message through ``POST /api/v1/messages``:
its name, a correlation (the other system's own key for the case, kept as the message's
correlation) and a JSON object payload. It is queued like any message between dossiers
(:mod:`engine.messages`): a dossier waiting for that name and correlation catches it, or,
when the name is a message start event of an active procedure version's own process (or of
a cooperating process), the worker starts a dossier of that procedure with it
(:func:`engine.dossiers.start_dossier`), its start event catching the payload.

The new dossier's **applicant** is the person the payload names by ID number
(``applicant_id_number``: a CCCD or tax code of a registered account), else the system
account itself. Its application data is the payload's ``application`` object, if any.

Refused with 403 for any caller that is not a system account, 404 for a name that starts
no procedure and that no dossier waits for, 422 for a bad correlation, payload or an ID
number nobody holds.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, clock, cooperation
from .errors import InvalidData, NotFound, PermissionDenied
from .models import Message, User, WaitingMessage

SYSTEM_KIND = "system"
APPLICANT_KEY = "applicant_id_number"


def _applicant(session: Session, payload: dict) -> User | None:
    number = payload.get(APPLICANT_KEY)
    if number is None:
        return None
    if not isinstance(number, str) or not number.strip():
        raise InvalidData(f"{APPLICANT_KEY} must be a non-empty string.",
                          vi=f"{APPLICANT_KEY} phải là một chuỗi không rỗng.")
    user = session.execute(select(User).where(User.id_number == number.strip(),
                                              User.active.is_(True))
                           .order_by(User.id).limit(1)).scalar()
    if user is None:
        raise InvalidData(f"No account holds ID number {number!r}: the applicant registers "
                          "first, or leave applicant_id_number out.",
                          vi=f"Không có tài khoản nào mang số định danh {number!r}: người nộp "
                             "cần đăng ký trước, hoặc bỏ applicant_id_number.")
    return user


def applicant_of(session: Session, sender_user_id: int, payload: dict) -> User:
    """The applicant of a dossier a system's message starts (see the module docstring)."""
    found = _applicant(session, payload)
    if found is not None:
        return found
    sender = session.get(User, sender_user_id)
    if sender is None:
        raise InvalidData(f"The account {sender_user_id} that posted the message is gone.",
                          vi=f"Tài khoản {sender_user_id} gửi thông điệp không còn tồn tại.")
    return sender


def post(p, user, name, correlation, payload) -> dict:
    """Queue a message another system sends; see the module docstring. Returns
    ``{id, name, correlation, status, starts}`` (``starts``: the procedure it would start,
    or None when it goes to a waiting dossier)."""
    if user is None or getattr(user, "kind", "") != SYSTEM_KIND:
        raise PermissionDenied("Only a system account may post messages.",
                               vi="Chỉ tài khoản hệ thống mới được gửi thông điệp.")
    if not isinstance(name, str) or not name.strip():
        raise InvalidData("name must be a non-empty string.",
                          vi="name phải là một chuỗi không rỗng.")
    if not isinstance(correlation, str) or not correlation.strip() or len(correlation) > 255:
        raise InvalidData("correlation must be a non-empty string of at most 255 characters.",
                          vi="correlation phải là một chuỗi không rỗng, tối đa 255 ký tự.")
    if payload is None:
        payload = {}
    if not isinstance(payload, dict) or "typename" in payload:
        raise InvalidData("payload must be a JSON object (without a key 'typename').",
                          vi="payload phải là một đối tượng JSON (không có khóa 'typename').")
    if "application" in payload and not isinstance(payload["application"], dict):
        raise InvalidData("payload.application must be a JSON object.",
                          vi="payload.application phải là một đối tượng JSON.")
    with p.db.transaction() as session:
        receivers = cooperation.start_receivers(session)
        waited = session.execute(select(WaitingMessage.id).where(
            WaitingMessage.name == name).limit(1)).scalar() is not None
        if name not in receivers and not waited:
            raise NotFound(f"No procedure starts on message {name!r} and no dossier waits for "
                           "it.",
                           vi=f"Không thủ tục nào khởi tạo bằng thông điệp {name!r} và không hồ "
                              "sơ nào đang chờ thông điệp này.")
        _applicant(session, payload)  # a bad ID number is refused now, not by the worker
        message = Message(name=name, correlation=correlation.strip(), payload=payload,
                          status="pending", created_at=clock.now(), sender_user_id=user.id,
                          sender_task="")
        session.add(message)
        session.flush()
        starts = receivers[name].procedure_code if name in receivers else None
        audit.append(session, actor=user.username, action="message_posted",
                     detail={"message": name, "message_id": message.id,
                             "correlation": message.correlation, "starts": starts})
        return {"id": message.id, "name": name, "correlation": message.correlation,
                "status": message.status, "starts": starts}


def create_system_account(p, username: str, full_name: str) -> str:
    """Create the system account ``username`` (no roles), or give an existing one a new
    password; returns the password, to be shown once. Refuses a username a person holds."""
    import secrets

    from . import accounts

    if not username.strip() or not full_name.strip():
        raise InvalidData("A system account needs a username and a name.",
                          vi="Tài khoản hệ thống cần tên đăng nhập và tên.")
    password = secrets.token_urlsafe(18)
    with p.db.transaction() as session:
        held = session.execute(select(User).where(User.username == username)).scalar()
        if held is not None and held.kind != SYSTEM_KIND:
            raise InvalidData(f"{username!r} is a {held.kind} account, not a system one.",
                              vi=f"{username!r} là tài khoản loại {held.kind}, không phải tài "
                                 "khoản hệ thống.")
        accounts.create_user(session, username=username, password=password,
                             full_name=full_name, kind=SYSTEM_KIND)
        audit.append(session, actor="cli", action="system_account",
                     detail={"username": username, "new": held is None})
    return password
