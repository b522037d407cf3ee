"""What the benchmark runs against: a fresh database, a platform with the demo accounts,
the real procedure bundle and a variant of it without signing.

The variant is the same bundle deployed under another procedure code, transformed here,
not by an engine flag: the ``signDocument`` properties of the user tasks are removed (the
officers still complete the two signing steps with the same form, but nothing is signed
and no passphrase is needed) and every ``render_document`` and ``issue_slip`` service task
(the agency-signed slips 01–05 and their e-mails) is removed, its
incoming flow going straight to the next element (no PDF is rendered; a plain
``bpmn:task`` would not do: SpiffWorkflow treats it as a manual task that waits). Everything else (flows, gateways, timers, forms,
notifications, the other service tasks) is byte-for-byte the deployed diagram.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from lxml import etree
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from engine import accounts, demo, inbox, setup
from engine.bundles import read_folder
from engine.config import Settings
from engine.models import Instance, Procedure
from engine.platform import Platform
from engine.procedures import deploy_bundle, get_procedure
from engine.storage import Upload

REPO = Path(__file__).resolve().parent.parent
PROCEDURE = "transport-business-licence"
BUNDLE = REPO / "bpmn" / PROCEDURE
SCENARIO = BUNDLE / "scenarios" / "approve-and-sign.yaml"
NOSIGN_SUFFIX = "-nosign"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "spiffworkflow": SPIFF}
VARIANT_NOTE = ("same bundle deployed as '{code}': the signDocument properties of "
                "{signers} removed, the render_document / issue_slip task(s) {renders} removed "
                "(the flow goes straight on): no PDF, no signature, no passphrase; all else "
                "identical")
RENDERING_OPERATORS = ("render_document", "issue_slip")
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]"
       b"/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def load_scenario() -> dict:
    return yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))


#: Databases a benchmark never drops: the test suite's, the server's own.
REFUSED_PREFIXES = ("test", "postgres", "template", "root")


def recreate_postgres(url: str) -> str:
    """Drop and create the database named in ``url`` (never the test suite's ``test``)."""
    target = make_url(url)
    if not target.database or target.database.lower().startswith(REFUSED_PREFIXES):
        raise SystemExit(f"refusing to recreate database {target.database!r}: use a dedicated one")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    return url


def nosign_variant(files: dict[str, bytes]) -> tuple[dict[str, bytes], str]:
    """The bundle without signing (see the module docstring) and a note of what differs."""
    out = dict(files)
    meta = yaml.safe_load(files["procedure.yaml"])
    meta["code"] += NOSIGN_SUFFIX
    meta["name"] = {k: f"{v} (benchmark, no signing)" for k, v in meta["name"].items()}
    out["procedure.yaml"] = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False).encode()
    name = meta.get("process", "process.bpmn")
    root = etree.fromstring(files[name])
    signers = []
    for prop in root.xpath("//spiffworkflow:property[@name='signDocument']", namespaces=NS):
        signers.append(prop.xpath("ancestor::bpmn:userTask/@id", namespaces=NS)[0])
        prop.getparent().remove(prop)
    renders = []
    for operator in RENDERING_OPERATORS:
        for op in root.xpath("//bpmn:serviceTask[bpmn:extensionElements/spiffworkflow:"
                             f"serviceTaskOperator/@id='{operator}']", namespaces=NS):
            renders.append(_bypass(root, op))
    out[name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    note = VARIANT_NOTE.format(code=meta["code"], signers=", ".join(signers) or "(none)",
                               renders=", ".join(renders) or "(none)")
    return out, note


def _bypass(root, task) -> str:
    """Remove ``task`` (one incoming, one outgoing flow): its incoming flow goes straight to
    the next element; the outgoing flow, lane reference and diagram shapes go too."""
    task_id = task.get("id")
    (incoming,) = task.xpath("bpmn:incoming/text()", namespaces=NS)
    (outgoing,) = task.xpath("bpmn:outgoing/text()", namespaces=NS)
    (flow_in,) = root.xpath(f"//bpmn:sequenceFlow[@id='{incoming}']", namespaces=NS)
    (flow_out,) = root.xpath(f"//bpmn:sequenceFlow[@id='{outgoing}']", namespaces=NS)
    flow_in.set("targetRef", flow_out.get("targetRef"))
    for ref in root.xpath(f"//*[@id='{flow_out.get('targetRef')}']/bpmn:incoming",
                          namespaces=NS):
        if ref.text == outgoing:
            ref.text = incoming
    doomed = [task, flow_out]
    doomed += root.xpath(f"//bpmn:flowNodeRef[text()='{task_id}']", namespaces=NS)
    doomed += root.xpath(f"//*[@bpmnElement='{task_id}' or @bpmnElement='{outgoing}']")
    for element in doomed:
        element.getparent().remove(element)
    return task_id


def make_platform(database_url: str, data_dir: Path, pki_dir: Path | None = None) -> Platform:
    """A fresh platform: the schema of engine.models (``create_all``, as the test suite
    does), reference data, the real bundle, the demo accounts (cheap password hashes) and,
    copied from ``pki_dir`` or generated, the demo PKI."""
    from argon2 import PasswordHasher

    accounts.use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    bpmn_dir = data_dir / "bpmn"
    bpmn_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(BUNDLE, bpmn_dir / PROCEDURE, dirs_exist_ok=True)
    p = Platform(Settings(data_dir=data_dir, database_url=database_url,
                          secret_key="bench", bpmn_dir=bpmn_dir))
    report = setup.init(p, migrate=False)
    if report["errors"]:
        raise SystemExit(f"deploying the bundle failed: {report['errors']}")
    demo.create_accounts(p, with_pki=pki_dir is None)
    if pki_dir is not None:
        shutil.copytree(pki_dir, p.pki_dir, dirs_exist_ok=True)
    return p


def deploy_nosign(p: Platform) -> tuple[str, str]:
    files, note = nosign_variant(read_folder(BUNDLE))
    result = deploy_bundle(p, files, actor="bench")
    return result["code"], note


_specs_owner: list = [None]


def switch_specs(p: Platform) -> None:
    """engine.spiff.SPECS is keyed by version id alone, and this process uses two databases
    whose version ids coincide: empty the cache when the database changes."""
    from engine.spiff import SPECS

    if _specs_owner[0] is not p:
        with SPECS.lock:
            SPECS.items.clear()
        _specs_owner[0] = p


def active_specs(p: Platform, code: str) -> tuple:
    """The deployed version's specs, exactly as the engine's runtime caches them."""
    from engine.spiff import SPECS

    switch_specs(p)
    with p.db.read() as session:
        procedure = session.execute(select(Procedure).where(Procedure.code == code)).scalar_one()
        return SPECS.get(procedure.active_version)


def users(p: Platform, scenario: dict) -> dict:
    names = {scenario["applicant"], *(s["as"] for s in scenario["steps"] if "as" in s)}
    return {name: accounts.find_user(p, name) for name in sorted(names)}


def sample_files(p: Platform, code: str) -> dict[str, Upload]:
    """A small PDF for every file field of the application form (as tests/scenario.py)."""
    form = get_procedure(p, code)["form"]
    return {name: Upload(f"{name}.pdf", "application/pdf", PDF)
            for name, prop in form["properties"].items() if prop.get("format") == "document"}


def open_task_id(p: Platform, user, code: str, spec_name: str) -> int:
    """The id of the dossier's open task ``spec_name`` that ``user`` may act on, as an
    officer's client finds it: the dossier page's read of its actionable tasks
    (:func:`engine.inbox.tasks_of_dossier`, one statement by dossier code)."""
    found = [task["id"] for task in inbox.tasks_of_dossier(p, user, code)
             if task["spec_name"] == spec_name]
    if len(found) != 1:
        raise RuntimeError(f"{user.username} has {len(found)} open {spec_name} tasks on {code}")
    return found[0]


def state_sizes(p: Platform) -> dict:
    """Characters of the saved workflow states (all dossiers here are finished)."""
    with p.db.transaction() as session:
        mean, top, count = session.execute(select(
            func.avg(func.length(Instance.state)), func.max(func.length(Instance.state)),
            func.count())).one()
    return {"dossiers": count, "mean_chars": float(mean or 0), "max_chars": int(top or 0)}
