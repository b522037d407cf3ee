"""A history for the demo (``motcua demo --history 6m``): months of dossiers run through the
real engine with the clock travelling, so that a newcomer sees the story on ``/thong-ke``.

Nothing here names a procedure. The dossiers replay the **scenarios** each procedure folder
carries (``bpmn/<procedure>/scenarios/*.yaml``: the path a test walks, with its
supplements, refusals and late dossiers), on one timeline: every dossier starts on a
working day of the period and each of its steps happens some working hours after the one
before, the clock always moving forward and the worker ticking as it goes, so timers fire
when they fall due. About ``online_share`` of the dossiers are filed online by their
applicant, the others entered by a reception officer at the counter or received by post;
a step is now and then left lying for days (late dossiers); a fee payable online is paid
at the portal's own stand-in gateway within the day (never at a real one); results are
downloaded or handed over and most applicants rate their dossier.

Each dossier is marked as demo data (``data['_demo']``, and a ``demo_history`` audit
event). Slips are left to the worker (they are jobs): the history does not wait for them.
"""

from __future__ import annotations

import heapq
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import yaml
from sqlalchemy import select

from . import audit, clock, counter, dossiers, handover, payments, ratings, tasks, vnpay, worker
from .accounts import find_user
from .calendar import load_calendar
from .documents import is_result
from .errors import EngineError
from .models import Document, Dossier, HumanTask, User, UserRole
from .procedures import get_procedure
from .storage import Upload
from .vocabulary import Channel, RoleCode

#: A one-page PDF for every document field of a form (the scanned papers of the demo).
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]"
       b"/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


@dataclass(order=True)
class _Event:
    at: datetime
    seq: int
    run: Iterator = field(compare=False)


@dataclass
class Tally:
    dossiers: int = 0
    steps: int = 0
    failed: int = 0
    errors: list = field(default_factory=list)  # the first few, to read
    by_channel: dict = field(default_factory=lambda: dict.fromkeys(Channel, 0))


def parse_months(text: str) -> int:
    """``6m`` or ``6`` → 6; anything else is refused."""
    match = re.fullmatch(r"\s*(\d{1,2})\s*m?\s*", text or "")
    if not match or not 1 <= int(match.group(1)) <= 24:
        raise ValueError(f"Give the history's length in months, 1 to 24 (e.g. 6m), not {text!r}.")
    return int(match.group(1))


def load_scenarios(bpmn_dir: Path) -> list[dict]:
    """Every scenario of every procedure folder, as data."""
    return [yaml.safe_load(path.read_text(encoding="utf-8"))
            for path in sorted(Path(bpmn_dir).glob("*/scenarios/*.yaml"))]


def run(p, *, months: int = 6, per_working_day: float = 1.0, online_share: float = 0.8,
        seed: int = 766, progress: Callable[[int, int], None] | None = None) -> Tally:
    """Run ``months`` months of dossiers ending today; ``progress(done, total)`` after each
    dossier has finished its path. Once only: nothing is run where a history exists."""
    rng = random.Random(seed)
    scenarios = load_scenarios(p.settings.bpmn_dir)
    if not scenarios or has_history(p):
        return Tally()
    saved = p.settings.run_jobs_after_commit
    p.settings.run_jobs_after_commit = False  # slips wait for the worker
    try:
        return _run(p, rng, scenarios, months, per_working_day, online_share, progress)
    finally:
        p.settings.run_jobs_after_commit = saved


def has_history(p) -> bool:
    """Whether a demo history was already run here (it is run once)."""
    from .models import AuditEvent

    with p.db.read() as session:
        return session.execute(select(AuditEvent.id).where(
            AuditEvent.action == "demo_history").limit(1)).scalar() is not None


def _run(p, rng, scenarios, months, per_day, online_share, progress) -> Tally:
    today = clock.local_now().date()
    start = (today.replace(day=1) - timedelta(days=31 * (months - 1))).replace(day=1)
    with p.db.read() as session:
        calendar = load_calendar(session)
    starts = _starts(calendar, rng, start, today - timedelta(days=1), per_day)
    tally, queue, total, done = Tally(), [], len(starts), 0
    real_now = clock.now()
    # A scenario that signs a result is the common path; refusals and delays the rarer ones.
    weights = [4 if any(s.get("passphrase") for s in sc.get("steps") or []) else 1
               for sc in scenarios]
    # Only applicants with an ID number can be received at the counter: they come there
    # more often, so that about ``online_share`` of all dossiers are filed online.
    known = [bool(find_user(p, sc["applicant"]).id_number) for sc in scenarios]
    with_id = sum(w for w, k in zip(weights, known, strict=True) if k) / sum(weights)
    online_if_known = max(0.0, 1 - (1 - online_share) / with_id) if with_id else 1.0
    for seq, moment in enumerate(starts):
        scenario = rng.choices(scenarios, weights=weights)[0]
        heapq.heappush(queue, _Event(moment, seq, _dossier_path(p, rng, scenario, seq,
                                                                online_if_known, calendar, tally)))
    last_tick = None
    if starts:
        clock.travel_to(starts[0])
    while queue:
        event = heapq.heappop(queue)
        if event.at > real_now:
            continue  # a step that would happen after today stays for the demo to do
        clock.travel_to(max(event.at, clock.now()))
        if last_tick is None or clock.now() - last_tick >= timedelta(hours=2):
            _tick(p)
            last_tick = clock.now()
        try:
            delay = next(event.run)
        except StopIteration:
            done += 1
            if progress:
                progress(done, total)
            continue
        heapq.heappush(queue, _Event(clock.now() + delay, event.seq, event.run))
    clock.reset()
    _tick(p)
    if progress:
        progress(total, total)
    return tally


def _starts(calendar, rng, first: date, last: date, per_day: float) -> list[datetime]:
    out, day = [], first
    while day <= last:
        if calendar.is_working_day(day):
            for _ in range(_poisson(rng, per_day)):
                minute = rng.randrange(7 * 60 + 30, 16 * 60 + 30)
                out.append(datetime.combine(day, time(minute // 60, minute % 60), clock.VIETNAM))
        day += timedelta(days=1)
    return sorted(out)


def _poisson(rng, mean: float) -> int:
    count, level, threshold = 0, 1.0, pow(2.718281828, -mean)
    while True:
        level *= rng.random()
        if level < threshold:
            return count
        count += 1


def _dossier_path(p, rng, scenario, seq, online_share, calendar, tally) -> Iterator[timedelta]:
    """One dossier's life: submitted, its scenario's steps, hand-over and rating. Yields the
    time until its next step."""
    try:
        code = _submit(p, rng, scenario, seq, online_share, tally)
    except EngineError as exc:
        tally.failed += 1
        if len(tally.errors) < 5:
            tally.errors.append(f"{scenario['procedure']}: {exc}")
        return
    tally.dossiers += 1
    for step in scenario.get("steps") or []:
        if "travel" in step:
            yield timedelta(**step["travel"])
        elif "task" in step:
            yield _working_delay(rng, calendar)
        try:
            _step(p, code, step)
            tally.steps += 1
        except EngineError as exc:
            tally.failed += 1
            if len(tally.errors) < 5:
                tally.errors.append(f"{scenario['procedure']}: {exc}")
            return
        if step.get("tick"):
            _tick(p)
    if fee_due(p, code):
        yield timedelta(hours=rng.randint(1, 20))
        pay_at_stand_in(p, code)
        _tick(p)  # the diagram hears that the fee is paid
    yield timedelta(hours=rng.randint(2, 72))
    _after(p, rng, code)


def fee_due(p, code: str) -> bool:
    """Whether the dossier, still open, has a fee its applicant pays online and has not
    paid yet (a level-4 procedure waits for it before the result)."""
    status = payments.payment_status(p, code)
    return status["due"] and not status["paid"] and not status["closed"]


def pay_at_stand_in(p, code: str) -> bool:
    """The applicant pays the dossier's fee at the portal's own stand-in gateway, as its
    Pay button does: the order opened by :func:`engine.payments.start_payment`, the
    stand-in's signed answer delivered as its IPN. Nothing is paid when a real gateway is
    configured. True if the payment was confirmed."""
    if not payments.sandbox_enabled(p):
        return False
    with p.db.read() as session:
        applicant = session.execute(select(User.username).join(
            Dossier, Dossier.applicant_id == User.id).where(Dossier.code == code)).scalar_one()
    order = payments.start_payment(p, find_user(p, applicant), code, client_ip="127.0.0.1")
    params = dict(parse_qsl(urlsplit(order["url"]).query, keep_blank_values=True))
    answer = vnpay.signed_query(payments.gateway_for(p).hash_secret,
                                vnpay.sandbox_result(params, paid=True))
    return payments.handle_ipn(p, dict(parse_qsl(answer)))["RspCode"] == "00"


def _tick(p) -> None:
    """The worker's round without its slow part: timers fire and messages are delivered as
    time passes; slips (jobs) and e-mails are left to the demo's own worker."""
    worker.fire_due_timers(p)
    worker.deliver_messages(p)


def _working_delay(rng, calendar) -> timedelta:
    """Mostly a few working hours; now and then days (the step lies in a pile)."""
    if rng.random() < 0.015:
        return timedelta(days=rng.randint(3, 8), hours=rng.randint(0, 6))
    return timedelta(hours=rng.choice((1, 1, 2, 2, 3, 4, 5, 6, 18)))


def _submit(p, rng, scenario, seq, online_share, tally) -> str:
    procedure = scenario["procedure"]
    applicant = find_user(p, scenario["applicant"])
    form = get_procedure(p, procedure)["form"]
    data = vary(form, scenario.get("application") or {}, rng, seq)
    files = {name: Upload(f"{name}.pdf", "application/pdf", PDF)
             for name, prop in form.get("properties", {}).items() if prop.get("format") == "document"}
    channel = "online" if rng.random() < online_share or not applicant.id_number else \
        rng.choice(("counter", "counter", "post"))
    if channel == "online":
        code = dossiers.submit(p, applicant, procedure, data, files,
                               agency_code=scenario.get("agency"))["code"]
    else:
        officer = _reception_officer(p, procedure, scenario.get("agency"))
        if officer is None:
            channel = "online"
            code = dossiers.submit(p, applicant, procedure, data, files,
                                   agency_code=scenario.get("agency"))["code"]
        else:
            code = counter.receive(p, officer, procedure, {"id_number": applicant.id_number}, data,
                                   files, channel=channel, agency_code=scenario.get("agency"))["code"]
    tally.by_channel[channel] += 1
    _mark(p, code)
    return code


#: Schema keys of a field whose value is chosen or formatted, kept as written.
_CHOICE_KEYS = ("enum", "oneOf", "anyOf", "const", "format")
#: Fields a person is reached at, kept as written.
_CONTACT = re.compile(r"email|phone|address|location|person|representative|issuer|note|comment")


def vary(form: dict, application: dict, rng, seq: int) -> dict:
    """The scenario's application made this dossier's own: digits of patterned text drawn
    afresh but the last (a plate, a tax code: kept only if the pattern still holds); other
    free text without digits numbered (names of units, projects, bodies), contact fields
    kept. Registries then see a new unit or project, not the scenario's one again."""
    out = dict(application)
    for key, value in application.items():
        prop = (form.get("properties") or {}).get(key) or {}
        if not isinstance(value, str) or any(prop.get(k) for k in _CHOICE_KEYS) \
                or _CONTACT.search(key):
            continue
        if re.search(r"\d", value):
            # The last digit stays: stand-in providers read it (a tracker that answers).
            fresh = re.sub(r"\d(?=.*\d)", lambda _m: str(rng.randrange(10)), value)
        else:
            fresh = f"{value} {seq + 1}"  # names of units, projects, bodies: unique
        # A JSON Schema pattern is a search, not a full match.
        if not prop.get("pattern") or re.search(prop["pattern"], fresh):
            out[key] = fresh
    return out


def _reception_officer(p, procedure: str, agency_code: str | None):
    view = get_procedure(p, procedure)
    codes = [a["code"] for a in view.get("agencies") or []] or [view.get("agency", {}).get("code")]
    if agency_code:
        codes = [agency_code]
    with p.db.read() as session:
        from .models import Agency

        username = session.execute(
            select(User.username).join(UserRole, UserRole.user_id == User.id)
            .join(Agency, Agency.id == UserRole.agency_id)
            .where(UserRole.role_code == RoleCode.RECEPTION, Agency.code.in_(codes), User.active.is_(True))
            .order_by(User.id).limit(1)).scalar()
    return find_user(p, username) if username else None


def _mark(p, code: str) -> None:
    with p.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        dossier.data = {**(dossier.data or {}), "_demo": True}
        audit.append(session, actor="demo", action="demo_history", dossier_id=dossier.id,
                     detail={"note": "demo data (motcua demo --history)"})


def _target(p, code: str, step: dict) -> str:
    if step.get("dossier") != "child":
        return code
    with p.db.read() as session:
        parent = session.execute(select(Dossier.id).where(Dossier.code == code)).scalar_one()
        child = session.execute(select(Dossier.code).where(Dossier.parent_id == parent)
                                .order_by(Dossier.id.desc()).limit(1)).scalar()
    if child is None:
        raise EngineError("The cooperating dossier has not started.")
    return child


def _step(p, code: str, step: dict) -> None:
    if "task" not in step:
        _tick(p)
        return
    target = _target(p, code, step)
    with p.db.read() as session:
        task_id = session.execute(
            select(HumanTask.id).join(Dossier, Dossier.id == HumanTask.dossier_id)
            .where(Dossier.code == target, HumanTask.status == "open",
                   HumanTask.spec_name == step["task"]).limit(1)).scalar()
    if task_id is None:
        raise EngineError(f"No open step {step['task']} on {target}.")
    actor = find_user(p, step["as"])
    if step.get("claim"):
        tasks.claim(p, actor, task_id)
    tasks.complete(p, actor, task_id, step.get("data") or {}, passphrase=step.get("passphrase"))


def _after(p, rng, code: str) -> None:
    """The result reaches the applicant (downloaded, or handed over at the counter), and
    most applicants rate the dossier."""
    with p.db.read() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        status, channel, applicant_id = dossier.status, dossier.channel, dossier.applicant_id
        result = next((d for d in session.execute(select(Document).where(
            Document.dossier_id == dossier.id)).scalars() if is_result(dossier, d)), None)
        username = session.get(User, applicant_id).username
    applicant = find_user(p, username)
    try:
        if status == "processed" and rng.random() < 0.85:
            if channel == "online" and result is not None:
                handover.record_download(p, applicant, _id(p, code))
            else:
                officer = _reception_officer_of(p, code)
                if officer is not None:
                    handover.hand_over(p, officer, code, "post" if channel == "post" else "counter")
        if status in ratings.RATEABLE and rng.random() < 0.6:
            overall = rng.choices(list(ratings.LEVELS), weights=(5, 4, 1))[0]
            ratings.rate(p, code, {"overall": overall, "timeliness": rng.choice(list(ratings.LEVELS))},
                         user=applicant, place="counter" if channel != "online" else "online")
    except EngineError:
        return


def _id(p, code: str) -> int:
    with p.db.read() as session:
        return session.execute(select(Dossier.id).where(Dossier.code == code)).scalar_one()


def _reception_officer_of(p, code: str):
    with p.db.read() as session:
        agency = session.execute(select(Dossier.agency_id).where(Dossier.code == code)).scalar_one()
        username = session.execute(
            select(User.username).join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role_code == RoleCode.RECEPTION, UserRole.agency_id == agency)
            .order_by(User.id).limit(1)).scalar()
    return find_user(p, username) if username else None
