"""The decision-table editor's endpoints, driven like the page's script: a table is saved
into the analyst's draft only when it is a DMN file, the save answers with deploy's check
of the bundle, and only analysts reach any of it."""

# ruff: noqa: F811

from engine import accounts, versions
from tests.browser.test_studio_decisions import CODE, deploy_fee_table
from tests.web.test_pages import app, auth, client, text  # noqa: F401
from tests.web.test_studio import post_json
from web.studio import drafts

TABLE = f"/studio/procedures/{CODE}/versions/1/decision-xml/fee_table.dmn"
PAGE = f"/studio/procedures/{CODE}/versions/1/decisions/fee_table.dmn"


def staged(platform) -> dict:
    """The files staged in the analyst's draft of the procedure."""
    assert versions.get_version(platform, CODE)["number"] == 1  # nothing deployed meanwhile
    user = accounts.find_user(platform, "phantich")
    draft = drafts.load(platform.settings.data_dir, user.id, CODE)
    return draft.files if draft else {}


def test_a_table_is_staged_only_when_it_is_dmn_and_the_save_reports_deploys_check(
        platform, auth, client):
    deploy_fee_table(platform)
    auth.login("phantich")
    editor = text(client.get(f"/studio/procedures/{CODE}/versions/1/edit"))
    assert PAGE in editor  # the diagram editor lists the bundle's tables
    table = client.get(TABLE).get_data(as_text=True)
    assert "<text>200000</text>" in table

    answer = post_json(auth, TABLE, {"xml": "<definitions/>"})
    assert answer.status_code == 422 and "DMN" in answer.get_json()["message"]
    answer = post_json(auth, TABLE, {"xml": "<definitions"})
    assert answer.status_code == 422 and "XML" in answer.get_json()["message"]
    assert staged(platform) == {}

    bad = table.replace("<text>500000</text>", "<text>open('/etc/passwd')</text>")
    answer = post_json(auth, TABLE, {"xml": bad}).get_json()
    assert answer["saved"] is True and any("fee_by_vehicles row 2" in e
                                           for e in answer["errors"])
    good = table.replace("<text>200000</text>", "<text>250000</text>")
    answer = post_json(auth, TABLE, {"xml": good}).get_json()
    assert answer == {"saved": True, "errors": [], "message": answer["message"]}
    assert "250000" in staged(platform)["fee_table.dmn"]
    assert "250000" in client.get(TABLE).get_data(as_text=True)  # reopened as staged
    assert "nháp" in text(client.get(PAGE))


def test_only_analysts_reach_tables_and_only_the_bundles_tables(platform, auth, client):
    deploy_fee_table(platform)
    auth.login("motcua")
    assert client.get(PAGE).status_code == 403
    assert post_json(auth, TABLE, {"xml": "<x/>"}).status_code == 403
    auth.logout()
    auth.login("phantich")
    assert client.get(PAGE.replace("fee_table.dmn", "procedure.yaml")).status_code == 404
    assert client.get(TABLE.replace("fee_table.dmn", "process.bpmn")).status_code == 404
    with client.get("/studio/dmn-vendor/dmn-modeler.production.min.js") as script:
        assert script.status_code == 200 and b"dmn-js" in script.data[:400]
