"""The project's definitions with every job on the Celery executor (dagster-celery): steps go
to Celery workers through a broker (Redis), on the queue their op tag names (``llm`` for the
LLM-bound stages, ``dagster`` for the rest). A code location for a deployment that has
outgrown one machine; see README "Running in production" and ``deploy/celery.yaml``."""

from dagster import Definitions, definitions
from dagster_celery import celery_executor

from synth_assets.definitions import defs as project_defs


@definitions
def defs() -> Definitions:
    return Definitions.merge(project_defs(), Definitions(executor=celery_executor))
