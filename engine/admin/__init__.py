"""Administration: the organisation as data (DESIGN.md, *administrator*).

One module per concern, as ``web/admin/`` is: :mod:`.agencies`, :mod:`.users`, :mod:`.roles`,
:mod:`.calendar`, :mod:`.procedure_agencies`, :mod:`.imports` (CSV), :mod:`.overview` (the
start page's counts) and :mod:`.checks` (what their forms share). Callers import the module
they need (``from engine.admin import agencies``).

Agencies, users and the roles they hold in agencies, role names, the calendar's
overrides and which agencies receive which procedure are rows an administrator edits
here, never code. Every function takes the platform and the acting username, runs in
one transaction and appends an ``admin_*`` audit event with the state before and after.

Decisions:

- **Bad input loses nothing and names its field.** Validation collects every problem of
  a form (or of a whole CSV file) before writing anything and raises :class:`InvalidData`
  whose ``details`` are ``{field, message, message_vi}`` (CSV: also ``line`` and
  ``column``), so a page re-renders the values with each message beside its field.
- **CSV imports are all or nothing.** The whole file is checked first, rows may refer to
  each other (a district office to the district above it, in any order), and nothing is
  written if any row is bad. Rows are upserted by their key (agency code, username).
  A column left out of the file leaves that attribute of existing rows alone; an empty
  cell clears it. A new user without a password gets a generated one-time password,
  returned once; an existing user without one keeps theirs.
- **Referenced rows are closed, not deleted.** An agency that dossiers, users, tasks or
  procedures point at is closed (``active = False``): history keeps its name, and
  :func:`engine.procedures.receiving_agencies` stops offering it. A role that a deployed
  diagram names as a lane cannot be deleted at all (the diagram would stop validating).
- **An administrator cannot lock the door behind them**: they cannot deactivate their own
  account or take away their own ``admin`` role.
- Codes: agency codes follow QCVN 102:2016 (``000.00.14.H56``: three levels of two or
  three digits, then the level-1 unit, a letter and two digits).
"""
