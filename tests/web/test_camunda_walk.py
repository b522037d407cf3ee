"""A diagram drawn in Camunda Modeler, walked through the portal's own pages: the citizen
applies on the web form, and the demo officers — the reception officer, the handler and
the head of department, each holding the role a candidate group names — find the task in
their inbox, see the form converted from its ``camunda:formData`` fields, and complete it;
the saved workflow is restored and compared after every step."""

# ruff: noqa: F811

import re

from engine.procedures import deploy_bundle
from tests.engine.elements.kit import bundle, check, data, finished
from tests.web.test_pages import app, auth, client, complete, task_id_for, text  # noqa: F401

CODE = "el-camunda-permit"


def apply(auth) -> str:
    auth.login("congdan")
    page = f"/thu-tuc/{CODE}/nop"
    response = auth.post(page, {"target": "Giấy phép nhỏ"}, page=page,
                         content_type="multipart/form-data")
    assert response.status_code == 302, text(response)
    auth.logout()
    return re.fullmatch(r"/ho-so/(.+)", response.headers["Location"]).group(1)


def open_task(auth, officer: str, code: str) -> tuple[int, str]:
    """Sign in as ``officer``, find the dossier's task in the inbox, open it."""
    auth.login(officer)
    task_id = task_id_for(auth, code)
    return task_id, text(auth.client.get(f"/workspace/tasks/{task_id}"))


def finish(auth, platform, task_id: int, code: str, values: dict) -> None:
    response = complete(auth, task_id, values)
    assert response.status_code == 302, text(response)
    check(platform, code)
    auth.logout()


def test_demo_officers_walk_a_camunda_modeler_diagram_on_its_converted_forms(auth, platform):
    deployed = deploy_bundle(platform, bundle("camunda_permit"))
    assert deployed["code"] == CODE
    code = apply(auth)
    check(platform, code)

    # The reception officer (candidate group "reception") sees the converted check form.
    task_id, page = open_task(auth, "motcua", code)
    assert "Kiểm tra hồ sơ" in page
    assert 'type="checkbox" name="complete"' in page and "Hồ sơ đầy đủ, hợp lệ" in page
    assert "Ghi chú tiếp nhận" in page
    finish(auth, platform, task_id, code, {"complete": "true", "check_note": "Đủ giấy tờ"})

    # The handler's form: a date, a whole number and a choice of two.
    auth.login("motcua")
    assert code not in text(auth.client.get("/workspace/"))  # reception has nothing left
    auth.logout()
    task_id, page = open_task(auth, "chuyenvien", code)
    assert "Thẩm định" in page and "Ngày kiểm tra thực tế" in page
    assert re.search(r'type="date"[^>]*name="inspected_on"|name="inspected_on"[^>]*type="date"',
                     page)
    assert 'value="grant"' in page and 'value="refuse"' in page
    # A required field left empty: the page comes back with the values kept.
    response = complete(auth, task_id, {"vehicles_seen": "3", "proposal": "grant"})
    assert response.status_code != 302 and "Ngày kiểm tra thực tế" in text(response)
    check(platform, code)
    finish(auth, platform, task_id, code,
           {"inspected_on": "2026-12-04", "vehicles_seen": "3", "proposal": "grant"})

    # The head of department signs off; the output mapping sets the outcome.
    task_id, page = open_task(auth, "lanhdao", code)
    assert "Phê duyệt" in page and "Đồng ý đề xuất" in page
    finish(auth, platform, task_id, code, {"approved": "true"})

    assert finished(platform, code)
    values = data(platform, code)
    assert (values["complete"], values["inspected_on"], values["vehicles_seen"],
            values["outcome"]) == (True, "2026-12-04", 3, "grant")
