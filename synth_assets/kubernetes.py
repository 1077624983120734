"""The project's definitions with every job on dagster-k8s's ``k8s_job_executor``: each step in
its own Kubernetes Job (pod), on the code location's image. For a cluster only: a user
deployment runs it with ``dagsterApiGrpcArgs: ["-m", "synth_assets.kubernetes"]`` (see
deploy/k8s/README.md); runs take deploy/k8s/k8s_executor.yaml as run config. Steps hand data
over through the shared outputs volume, as with the Celery executor (synth_assets.distributed).
Not exercised on a cluster here: its tests validate the config against the jobs."""

from dagster import Definitions, definitions
from dagster_k8s import k8s_job_executor

from synth_assets.definitions import defs as project_defs


@definitions
def defs() -> Definitions:
    return Definitions.merge(project_defs(), Definitions(executor=k8s_job_executor))
