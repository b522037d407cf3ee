"""Every table of the database: the core tables (:mod:`engine.models`) and those defined
beside the feature that owns them (:mod:`engine.payment_models`,
:mod:`engine.stats_models`, :mod:`engine.identity_models`), on one metadata — what ``create_all`` builds and what the migrations are compared against."""

from . import identity_models, models, payment_models, stats_models  # noqa: F401  (their tables join the metadata)
from .columns import Base
from .revisions import attach

metadata = Base.metadata
attach(metadata)  # the revision triggers, once the tables exist
