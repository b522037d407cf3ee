"""``motcua import-agencies`` and ``motcua import-users``: all or nothing, problems named by
line and column, one-time passwords printed once."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from engine import accounts
from engine.admin.agencies import get_agency, list_agencies
from engine.models import AuditEvent
from web.cli import cli

TRANSPORT = "000.00.14.H56"


def test_help_lists_the_import_commands():
    output = CliRunner().invoke(cli, ["--help"], prog_name="motcua").output
    assert "import-agencies" in output and "import-users" in output


def test_importing_agencies(run, platform, tmp_path):
    file = tmp_path / "agencies.csv"
    file.write_text("code,name_vi,kind,parent_code\n"
                    "000.00.47.H56,Ủy ban nhân dân huyện Mới,district,000.00.00.H56\n"
                    f"{TRANSPORT},Sở Giao thông vận tải,department,000.00.00.H56\n",
                    encoding="utf-8-sig")
    result = run("import-agencies", file, "--actor", "quantri")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (f"Imported {file}: 2 row(s): 1 created, 1 updated, "
                                     "0 unchanged.")
    assert get_agency(platform, TRANSPORT)["name_vi"] == "Sở Giao thông vận tải"
    with platform.db.transaction() as session:
        actors = set(session.execute(select(AuditEvent.actor).where(
            AuditEvent.action.startswith("admin_agency_"))).scalars())
    assert actors == {"quantri"}


def test_a_bad_agency_file_exits_1_and_writes_nothing(run, platform, tmp_path):
    file = tmp_path / "agencies.csv"
    file.write_text("code,name_vi\n000.00.47.H56,Ủy ban nhân dân huyện Mới\n000.00.48,Huyện Sai\n",
                    encoding="utf-8")
    result = run("import-agencies", file)
    assert result.exit_code == 1
    assert "nothing was written" in result.output
    assert f"{file}:3: line 3, column code: '000.00.48' is not an agency code" in result.output
    assert "Dòng 3, cột code:" in result.output
    assert list_agencies(platform, "huyện Mới") == []


def test_importing_users_prints_the_one_time_passwords(run, platform, tmp_path):
    file = tmp_path / "users.csv"
    file.write_text("username,full_name,agency_code,roles\n"
                    f"thuly2,Ngô Văn Thụ,{TRANSPORT},handler@{TRANSPORT};clerk@{TRANSPORT}\n"
                    f"motcua,Lê Văn Tiếp,{TRANSPORT},reception@{TRANSPORT};head@{TRANSPORT}\n",
                    encoding="utf-8")
    result = run("import-users", file)
    assert result.exit_code == 0, result.output
    assert "1 created, 1 updated" in result.output
    lines = [line.split() for line in result.output.splitlines() if line.startswith("  ")]
    assert [name for name, _ in lines] == ["thuly2"]
    user = accounts.authenticate(platform, "thuly2", lines[0][1])
    assert user.has_role("clerk", TRANSPORT) and user.kind == "staff"
    assert accounts.authenticate(platform, "motcua", "demo").has_role("head", TRANSPORT)


def test_a_bad_user_file_exits_1_and_names_the_line(run, platform, tmp_path):
    file = tmp_path / "users.csv"
    file.write_text("username,full_name,agency_code,roles\n"
                    f"thuly2,Ngô Văn Thụ,{TRANSPORT},handler@{TRANSPORT}\n"
                    f"thuly3,,{TRANSPORT},thuly@{TRANSPORT}\n", encoding="utf-8")
    result = run("import-users", file)
    assert result.exit_code == 1
    assert f"{file}:3: line 3, column full_name:" in result.output
    assert f"{file}:3: line 3, column roles:" in result.output
    assert accounts.find_user(platform, "thuly2") is None


def test_a_missing_file_is_a_usage_error(run, tmp_path):
    assert run("import-users", tmp_path / "none.csv").exit_code == 2
