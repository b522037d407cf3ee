"""Settings read from the environment (``MOTCUA_*``), with defaults for a first run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _default_data_dir() -> Path:
    return Path(os.environ.get("MOTCUA_DATA_DIR") or Path.cwd() / "var").resolve()


#: The agencies' seal keys' passphrase in the demo (and in settings built in code, as tests do).
DEMO_PASSPHRASE = "demo"
#: The file, under the data directory, that marks its PKI as the demo's (:mod:`engine.demo`
#: writes it with the demo certificates): only there may the passphrase stay unset.
DEMO_MARKER = Path("pki") / "DEMO"


def is_demo_data(data_dir: Path) -> bool:
    """Whether ``data_dir`` holds the demo's data (``motcua demo`` made its PKI)."""
    return (Path(data_dir) / DEMO_MARKER).is_file()


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _not_off(value: str) -> bool:
    return value.strip().lower() not in ("0", "false", "no", "off")


def _url(value: str) -> str:
    return value.rstrip("/")


def _stripped(value: str) -> str:
    return value.strip()


def _lowered(value: str) -> str:
    return value.strip().lower()


#: Settings read from the environment only when their variable is set (and not empty):
#: the field, the variable, and how its text is read.
_READ_WHEN_SET = (
    ("mail_from", "MOTCUA_MAIL_FROM", str),
    ("public_url", "MOTCUA_PUBLIC_URL", _url),
    ("tracking_url", "MOTCUA_TRACKING_URL", _url),
    ("tracking_token", "MOTCUA_TRACKING_TOKEN", str),
    ("tracking_timeout_seconds", "MOTCUA_TRACKING_TIMEOUT", float),
    ("message_ttl_days", "MOTCUA_MESSAGE_TTL_DAYS", int),
    ("run_jobs_after_commit", "MOTCUA_RUN_JOBS_AFTER_COMMIT", _not_off),
    ("job_lease_seconds", "MOTCUA_JOB_LEASE_SECONDS", float),
    ("job_test_pause_seconds", "MOTCUA_JOB_TEST_PAUSE_SECONDS", float),
    ("audit_anchor_dir", "MOTCUA_AUDIT_ANCHOR_DIR", Path),
    ("audit_anchor_interval_seconds", "MOTCUA_AUDIT_ANCHOR_INTERVAL", float),
    ("session_idle_minutes", "MOTCUA_SESSION_IDLE_MINUTES", float),
    ("session_hours", "MOTCUA_SESSION_HOURS", float),
    ("worker_stale_seconds", "MOTCUA_WORKER_STALE_SECONDS", float),
    ("rating_change_days", "MOTCUA_RATING_CHANGE_DAYS", int),
    ("national_sync_url", "MOTCUA_NATIONAL_SYNC_URL", _stripped),
    ("national_sync_token", "MOTCUA_NATIONAL_SYNC_TOKEN", _stripped),
    ("national_sync_timeout_seconds", "MOTCUA_NATIONAL_SYNC_TIMEOUT", float),
    ("sms_url", "MOTCUA_SMS_URL", _stripped),
    ("sms_token", "MOTCUA_SMS_TOKEN", _stripped),
    ("script_workers", "MOTCUA_SCRIPT_WORKERS", int),
    ("script_cpu_seconds", "MOTCUA_SCRIPT_CPU_SECONDS", float),
    ("script_memory_mb", "MOTCUA_SCRIPT_MEMORY_MB", int),
    ("bpmn_dir", "MOTCUA_BPMN_DIR", Path),
    ("studio_assets_dir", "MOTCUA_STUDIO_ASSETS_DIR", Path),
    ("chart_assets_dir", "MOTCUA_CHART_ASSETS_DIR", Path),
    ("font_dir", "MOTCUA_FONT_DIR", Path),
    ("oidc_issuer", "MOTCUA_OIDC_ISSUER", _url),
    ("oidc_client_id", "MOTCUA_OIDC_CLIENT_ID", _stripped),
    ("oidc_client_secret", "MOTCUA_OIDC_CLIENT_SECRET", _stripped),
    ("oidc_id_number_claim", "MOTCUA_OIDC_ID_NUMBER_CLAIM", _stripped),
    ("oidc_stand_in", "MOTCUA_OIDC_STAND_IN", _not_off),
    ("dmn_assets_dir", "MOTCUA_DMN_ASSETS_DIR", Path),
    ("signer", "MOTCUA_SIGNER", _lowered),
    ("pkcs11_lib", "MOTCUA_PKCS11_LIB", _stripped),
    ("tsa_url", "MOTCUA_TSA_URL", _stripped),
    ("tsa_timeout_seconds", "MOTCUA_TSA_TIMEOUT", float),
)


@dataclass
class Settings:
    """Everything the engine needs to know about its surroundings.

    ``database_url``: SQLAlchemy URL; SQLite under the data dir unless set.
    ``data_dir``: uploaded files, generated documents, the demo PKI, outgoing ``.eml`` files.
    ``smtp_url``: ``smtp://user:pass@host:port`` (``smtps://`` for TLS); unset writes e-mails
    as files under ``data_dir/outbox``.
    ``bpmn_dir``: the procedure folders loaded by ``motcua init``.
    ``public_url``: the portal's address, for links in e-mails.
    ``agency_key_passphrase``: encrypts the agencies' seal keys under ``data_dir/pki/agencies``
    (slips 01–05 are signed by the agency, with no officer present). From the environment
    it is ``MOTCUA_AGENCY_KEY_PASSPHRASE``; unset, it is the demo's (:data:`DEMO_PASSPHRASE`)
    only when the data directory is the demo's (:func:`is_demo_data`), and empty otherwise,
    which ``motcua serve``, ``worker`` and ``init`` refuse (:meth:`seal_passphrase_missing`).
    Settings built in code default to the demo's.
    ``tracking_url``: the vehicle-tracking (GPS) provider's JSON API (:mod:`engine.tracking`);
    unset, the portal's own stand-in answers, called in-process. ``tracking_token`` is the
    bearer token it expects; ``tracking_timeout_seconds`` bounds each call, which runs inside
    a dossier's step transaction.
    ``message_ttl_days``: a message nobody has waited for in this long expires (one addressed
    to a dossier that has ended expires at once).
    ``run_jobs_after_commit``: run a job (a slip to render and seal, :mod:`engine.jobs`) in
    this process right after the step that asked for it commits; off
    (``MOTCUA_RUN_JOBS_AFTER_COMMIT=0``), only the worker runs jobs.
    ``jobs_in_background``: with ``run_jobs_after_commit``, run those jobs on a background
    thread of this process, so the request that asked for one does not wait for it (on by
    default from the environment, ``MOTCUA_JOBS_IN_BACKGROUND=0`` runs them in the
    request's thread; off when settings are built in code, as tests do, where a slip then
    exists as soon as its step has returned).
    ``job_lease_seconds``: how long a job being run is left alone by other workers (and, with
    in-process running, by every worker after it is written); one whose runner died is due
    again after it.
    ``job_test_pause_seconds``: test-only, 0 otherwise: every job run waits this long before
    its slow part, so a test can kill a worker between claiming a job and rendering it.
    ``audit_anchor_dir``: where the signed anchors of the audit chain are written
    (:mod:`engine.anchors`; ``MOTCUA_AUDIT_ANCHOR_DIR``, default ``data_dir/audit-anchors``):
    a place the database's users cannot rewrite.
    ``audit_anchor_interval_seconds``: how often the worker anchors the chain's head
    (``MOTCUA_AUDIT_ANCHOR_INTERVAL``, seconds; 0 = only ``motcua audit-anchor``).
    ``redis_url`` (``MOTCUA_REDIS_URL``): where the web processes keep their throttling
    counters, shared between them; unset, each process counts in its own memory.
    ``behind_proxy`` (``MOTCUA_BEHIND_PROXY=1``): trust one reverse proxy's
    ``X-Forwarded-For/-Proto/-Host`` (the client's address is what throttling counts).
    ``https`` (``MOTCUA_HTTPS=1``, implied by ``behind_proxy``): the site is served over
    HTTPS: session cookies are ``Secure`` and responses carry HSTS.
    ``session_idle_minutes`` / ``session_hours``: a browser session ends after this long
    without a request, and in any case this long after signing in.
    ``log_format`` (``MOTCUA_LOG_FORMAT``): ``text`` or ``json`` (one JSON object a line).
    ``worker_stale_seconds``: readiness fails when no worker has finished a round in this
    long (0: no worker is expected, e.g. one that runs in the web process).
    ``rating_change_days``: how long after rating a dossier its applicant may still change
    the rating (``MOTCUA_RATING_CHANGE_DAYS``; :mod:`engine.ratings`).
    ``national_sync_url``: the national public-service portal's synchronisation API
    (:mod:`engine.national`); unset, the portal's own stand-in receives the records, in
    process, kept under ``data_dir/sandbox/national``. ``national_sync_token`` is the bearer
    token it expects; ``national_sync_timeout_seconds`` bounds each call (made by the
    worker, outside every transaction but the outbox row's).
    ``sms_url``: the SMS provider's HTTP API (:mod:`engine.sms`); unset, the portal's own
    stand-in keeps the messages under ``data_dir/sandbox/sms``. ``sms_token``: its token.
    ``script_workers``: worker processes per server process that run the diagram scripts the
    sandbox cannot prove cheap (loops, functions, many calls), under a hard limit of
    ``script_cpu_seconds`` of processor time and ``script_memory_mb`` of memory each
    (``MOTCUA_SCRIPT_WORKERS``, ``MOTCUA_SCRIPT_CPU_SECONDS``, ``MOTCUA_SCRIPT_MEMORY_MB``);
    0 runs every script in-process, under the sandbox's own limits only.
    ``vnpay_url`` / ``vnpay_tmn_code`` / ``vnpay_hash_secret`` (``MOTCUA_VNPAY_URL``,
    ``MOTCUA_VNPAY_TMN_CODE``, ``MOTCUA_VNPAY_HASH_SECRET``): the payment gateway and the
    merchant's credentials (:func:`engine.payments.gateway_for`); unset, the portal's own
    sandbox at ``{public_url}/sandbox/vnpay/pay`` with a demo terminal code and secret.
    ``studio_assets_dir`` (``MOTCUA_STUDIO_ASSETS_DIR``): where the studio finds bpmn-js's
    ``dist/``; unset, ``node_modules/bpmn-js/dist`` beside the code. ``dmn_assets_dir``
    (``MOTCUA_DMN_ASSETS_DIR``): the same for dmn-js (the decision-table editor).
    ``chart_assets_dir`` (``MOTCUA_CHART_ASSETS_DIR``): where the leaders' page finds
    Chart.js's ``dist/``; unset, ``node_modules/chart.js/dist`` beside the code.
    ``font_dir`` (``MOTCUA_FONT_DIR``): a folder searched first for the DejaVu fonts that
    slips are drawn with (:mod:`signing.fonts`).
    ``signer_cache_ttl_seconds`` (``MOTCUA_SIGNER_CACHE_TTL``): how long an unlocked signing
    key stays in the process's memory (:data:`signing.keycache.signer_cache`), and how long a
    PKCS#11 token session stays logged in; 0 unlocks it on every signature.
    ``oidc_issuer`` / ``oidc_client_id`` / ``oidc_client_secret`` (``MOTCUA_OIDC_ISSUER``,
    ``MOTCUA_OIDC_CLIENT_ID``, ``MOTCUA_OIDC_CLIENT_SECRET``): the national identity
    provider (VNeID / the national portal's single sign-on, OpenID Connect; its
    ``/.well-known/openid-configuration`` is read from the issuer URL) and this portal's
    registration with it (:mod:`engine.identity`). Unset (and no stand-in), the login page
    has no "sign in with VNeID" button. ``oidc_id_number_claim``
    (``MOTCUA_OIDC_ID_NUMBER_CLAIM``): the claim that carries the personal identification
    number (CCCD).
    ``oidc_stand_in`` (``MOTCUA_OIDC_STAND_IN``): serve the local stand-in identity
    provider at ``/sandbox/oidc`` (:mod:`web.oidc_standin`) and, with no ``oidc_issuer``,
    sign in through it. On by default for the demo's data (``motcua demo``), off
    elsewhere: it lets anyone sign in as a made-up person.
    ``signer`` (``MOTCUA_SIGNER``): where officers' and agencies' signing keys are kept
    (:mod:`signing.providers`): ``file`` (default: encrypted key files under
    ``data_dir/pki``) or ``pkcs11`` (one PKCS#11 token per officer and per agency seal,
    unlocked by the officer's PIN). ``pkcs11_lib`` (``MOTCUA_PKCS11_LIB``): the PKCS#11
    library; unset, SoftHSM2's (``/usr/lib/softhsm/libsofthsm2.so``), whose tokens are kept
    under ``data_dir/pki/softhsm`` unless ``SOFTHSM2_CONF`` says otherwise.
    ``tsa_url`` (``MOTCUA_TSA_URL``): the RFC 3161 time-stamping authority that timestamps
    every signature (PAdES B-T, :mod:`signing.timestamps`); ``standin`` runs the local
    stand-in (the demo's default); empty: no timestamp (B-B). ``tsa_timeout_seconds``
    (``MOTCUA_TSA_TIMEOUT``, default 10): how long a signature waits for the TSA.
    """

    data_dir: Path = field(default_factory=_default_data_dir)
    database_url: str = ""
    secret_key: str = ""
    smtp_url: str = ""
    mail_from: str = "Một Cửa <no-reply@motcua.local>"
    public_url: str = "http://127.0.0.1:5000"
    bpmn_dir: Path = field(default_factory=lambda: Path(__file__).resolve().parent.parent / "bpmn")
    max_upload_bytes: int = 10 * 1024 * 1024
    script_timeout_seconds: float = 1.0
    agency_key_passphrase: str = DEMO_PASSPHRASE
    tracking_url: str = ""
    tracking_token: str = ""
    tracking_timeout_seconds: float = 3.0
    message_ttl_days: int = 90
    run_jobs_after_commit: bool = True
    jobs_in_background: bool = False
    job_lease_seconds: float = 120.0
    job_test_pause_seconds: float = 0.0
    audit_anchor_dir: Path | None = None
    audit_anchor_interval_seconds: float = 3600.0
    redis_url: str = ""
    behind_proxy: bool = False
    https: bool = False
    session_idle_minutes: float = 120.0
    session_hours: float = 12.0
    log_format: str = "text"
    worker_stale_seconds: float = 0.0
    rating_change_days: int = 7
    national_sync_url: str = ""
    national_sync_token: str = ""
    national_sync_timeout_seconds: float = 5.0
    sms_url: str = ""
    sms_token: str = ""
    script_workers: int = 2
    script_cpu_seconds: float = 2.0
    script_memory_mb: int = 512
    vnpay_url: str = ""
    vnpay_tmn_code: str = ""
    vnpay_hash_secret: str = ""
    studio_assets_dir: Path | None = None
    chart_assets_dir: Path | None = None
    font_dir: Path | None = None
    signer_cache_ttl_seconds: float = 300.0
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_id_number_claim: str = "id_number"
    oidc_stand_in: bool = False
    dmn_assets_dir: Path | None = None
    signer: str = "file"
    pkcs11_lib: str = ""
    tsa_url: str = ""
    tsa_timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'motcua.sqlite3'}"

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        env = os.environ
        values = {
            "data_dir": _default_data_dir(),
            "database_url": env.get("MOTCUA_DATABASE_URL", ""),
            "secret_key": env.get("MOTCUA_SECRET_KEY", ""),
            "smtp_url": env.get("MOTCUA_SMTP_URL", ""),
        }
        for name, variable, read in _READ_WHEN_SET:
            if env.get(variable):
                values[name] = read(env[variable])
        values["jobs_in_background"] = _not_off(env.get("MOTCUA_JOBS_IN_BACKGROUND", "1"))
        values["redis_url"] = env.get("MOTCUA_REDIS_URL", "")
        values["behind_proxy"] = _flag(env.get("MOTCUA_BEHIND_PROXY", ""))
        values["https"] = _flag(env.get("MOTCUA_HTTPS", "")) or values["behind_proxy"]
        values["log_format"] = env.get("MOTCUA_LOG_FORMAT", "text").strip().lower() or "text"
        for key in ("vnpay_url", "vnpay_tmn_code", "vnpay_hash_secret"):
            values[key] = env.get(f"MOTCUA_{key.upper()}", "").strip()
        if env.get("MOTCUA_SIGNER_CACHE_TTL"):
            try:
                values["signer_cache_ttl_seconds"] = float(env["MOTCUA_SIGNER_CACHE_TTL"])
            except ValueError:  # as before: a mistyped value keeps the default
                pass
        if "MOTCUA_OIDC_STAND_IN" not in env:  # the demo's data: on, unless an issuer is set
            values["oidc_stand_in"] = not values.get("oidc_issuer") and is_demo_data(
                values["data_dir"])
        values.update(overrides)
        if "tsa_url" not in overrides and not env.get("MOTCUA_TSA_URL") and is_demo_data(
                values["data_dir"]):
            values["tsa_url"] = "standin"
        if "agency_key_passphrase" not in overrides:
            values["agency_key_passphrase"] = env.get("MOTCUA_AGENCY_KEY_PASSPHRASE") or (
                DEMO_PASSPHRASE if is_demo_data(values["data_dir"]) else "")
        return cls(**values)

    def seal_passphrase_missing(self) -> str:
        """Why a server must not start on these settings ("" when it may): outside the
        demo, the agencies' seal keys need a passphrase of the operator's choosing."""
        if self.agency_key_passphrase:
            return ""
        return ("MOTCUA_AGENCY_KEY_PASSPHRASE is not set: the agencies' seal keys (which sign "
                f"the slips) need a passphrase outside the demo (data in {self.data_dir}). "
                "Set it, and keep it: the keys made with it open only with it. / "
                "Chưa đặt MOTCUA_AGENCY_KEY_PASSPHRASE: khóa con dấu của các cơ quan (dùng ký "
                "phiếu) cần mật khẩu khi không chạy bản trình diễn. Hãy đặt và giữ lại mật khẩu "
                "này: khóa tạo bằng mật khẩu nào chỉ mở được bằng mật khẩu đó.")
