"""The step path: how a dossier step reads (:mod:`.load`), which rows a workflow needs
(:mod:`.rows`, pure functions shared with migration) and how a step writes them
(:mod:`.store`). :mod:`engine.runtime` runs a step with them; :mod:`engine.unit` holds what
the transaction writes besides (audit events, jobs, after-commit work)."""
