"""The step path: how a dossier step reads (:mod:`.load`), which rows a workflow needs
(:mod:`.rows`, pure functions shared with migration), how a step writes them (:mod:`.store`,
with statements built once per shape: :mod:`.sql`) and which workflows stay deserialized
between steps (:mod:`.warm`). :mod:`engine.runtime` runs a step with them; :mod:`engine.unit`
holds what the transaction writes besides (audit events, jobs, after-commit work)."""
