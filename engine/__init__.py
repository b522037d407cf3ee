"""The motcua engine: procedures as BPMN bundles, dossiers as process instances.

Plain Python with no web framework. web/ calls the public functions of the modules
here; every state change goes through :func:`engine.db.transaction`.
"""
