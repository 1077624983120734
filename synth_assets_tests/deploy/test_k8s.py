"""The Kubernetes files in deploy/k8s, checked as far as this machine can: no cluster, no Helm, no
Docker daemon, no network. Nothing here installs the chart or starts a pod.

- ``values.yaml`` against the Dagster Helm chart's own JSON schema, vendored beside this file
  (``dagster_helm_values.schema.json``: helm/dagster/values.schema.json of dagster-io/dagster at
  2bdb2395, Apache-2.0; see README.md here). Helm validates the chart's defaults merged with these
  overrides; the defaults are not vendored, so a key the schema requires is only required here
  where Helm would not fill it in from the defaults: inside list items (lists replace, maps merge).
  Kubernetes objects the schema refers to by URL are checked through dagster-k8s's models instead.
- Project rules: no secret values in the values, one PVC and one set of secrets for code server,
  run and step pods, the run limits of deploy/dagster.yaml, settings the code accepts, the code
  location loads.
- dagster-k8s (if installed): the run launcher config the chart renders, the code server's
  container context, ``k8s_executor.yaml`` as run config of the jobs on ``k8s_job_executor``, and
  the step pod (a ``V1Job`` built, never sent) that would come of them.
- The Dockerfile, statically.
"""

import copy
import datetime as dt
import importlib
import importlib.util
import json
import re
import tomllib
from collections import defaultdict
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SCHEMA_FILE = Path(__file__).with_name("dagster_helm_values.schema.json")
SECRET_VARIABLES = {"ANTHROPIC_API_KEY", "OPENAI_API_KEY", "LABEL_STUDIO_API_KEY", "DAGSTER_PG_PASSWORD"}
API_KEY_VARIABLES = SECRET_VARIABLES - {"DAGSTER_PG_PASSWORD"}
# names the chart derives for release "dagster" in namespace "dagster" (README's helm command)
RELEASE_NAMESPACE = "dagster"
FULLNAME = "dagster"  # the release name contains the chart name
SUBCHART_FULLNAME = "dagster-dagster-user-deployments"


def _load_yaml(name: str):
    return yaml.safe_load((K8S / name).read_text())


@pytest.fixture(scope="module")
def values() -> dict:
    return _load_yaml("values.yaml")


@pytest.fixture(scope="module")
def deployment(values) -> dict:
    (only,) = values["dagster-user-deployments"]["deployments"]
    return only


@pytest.fixture(scope="module")
def executor_config() -> dict:
    return _load_yaml("k8s_executor.yaml")


# ------------------------------------------------------------------------------------------------
# values.yaml against the chart's schema


def _offline(schema: dict) -> dict:
    """The schema without its references to remote Kubernetes definitions (kept: the chart's own
    constraints on those objects, such as ``type``)."""

    def strip(node):
        if isinstance(node, dict):
            return {
                k: strip(v)
                for k, v in node.items()
                if not (k == "$ref" and isinstance(v, str) and v.startswith("http"))
            }
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(schema)


def _strict(schema: dict) -> dict:
    """Project rule on top of the chart's schema: the chart's models that leave unknown keys open
    (pydantic's default, so Helm ignores a misspelled key) are closed, and so is the top level."""
    strict = copy.deepcopy(schema)
    for definition in strict["$defs"].values():
        if definition.get("type") == "object" and "properties" in definition:
            definition.setdefault("additionalProperties", False)
    strict["additionalProperties"] = False
    return strict


@pytest.fixture(scope="module")
def chart_schema() -> dict:
    schema = _offline(json.loads(SCHEMA_FILE.read_text()))
    Draft202012Validator.check_schema(schema)
    return schema


def _in_list(error) -> bool:
    return any(isinstance(step, int) for step in error.absolute_path)


def _blocking(error) -> bool:
    """Whether Helm would also fail on this error once the chart's defaults are merged under the
    overrides: a missing map key comes from the defaults, a missing key in a list item does not."""
    if error.validator == "required":
        return _in_list(error)
    if error.validator in ("anyOf", "oneOf"):
        by_branch = defaultdict(list)
        for sub in error.context:
            by_branch[sub.relative_schema_path[0]].append(sub)
        return not any(not any(_blocking(sub) for sub in subs) for subs in by_branch.values())
    return True


def schema_errors(values: dict, schema: dict) -> list[str]:
    errors = [e for e in Draft202012Validator(schema).iter_errors(values) if _blocking(e)]
    return [f"{'.'.join(map(str, e.absolute_path)) or '<top>'}: {e.message}" for e in errors]


def test_vendored_schema_is_the_charts(chart_schema):
    raw = SCHEMA_FILE.read_text()
    assert len(raw) == 135455  # as fetched, unmodified
    assert chart_schema["title"] == "DagsterHelmValues"
    for key in (
        "dagster-user-deployments",
        "postgresql",
        "runLauncher",
        "concurrency",
        "telemetry",
        "global",
    ):
        assert key in chart_schema["properties"]


def test_values_validate_against_the_chart_schema(values, chart_schema):
    assert schema_errors(values, chart_schema) == []
    assert schema_errors(values, _strict(chart_schema)) == []


def _set(tree: dict, dotted: str, value):
    *parents, last = dotted.split(".")
    node = tree
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value


_DELETE = object()
DEPLOYMENT = "dagster-user-deployments.deployments.0"


@pytest.mark.parametrize(
    ("changes", "chart_rejects"),
    [
        # misspelled keys: the chart closes some models itself, the project rule closes the rest
        ({"runLauncher.config.k8sRunLauncher.envSecret": [{"name": "x"}]}, True),
        ({"concurrency.runs.maxConcurentRuns": 4}, True),
        (
            {f"{DEPLOYMENT}.dagsterApiGrpcArgs": _DELETE, f"{DEPLOYMENT}.dagsterApiGrpcArg": ["-m", "x"]},
            False,
        ),
        ({"postgresql.postgresqlHostname": "db"}, False),
        ({"runLaucher": {"type": "K8sRunLauncher"}}, False),
        # wrong values
        ({"runLauncher.type": "K8sRunLaunchr"}, True),
        ({"concurrency.runs.maxConcurrentRuns": "four"}, True),
        ({f"{DEPLOYMENT}.port": _DELETE}, True),  # a list item: no default fills it in
        ({f"{DEPLOYMENT}.image.pullPolicy": "Sometimes"}, True),
    ],
)
def test_schema_rejects_misspelled_keys_and_wrong_values(values, chart_schema, changes, chart_rejects):
    broken = copy.deepcopy(values)
    for dotted, value in changes.items():
        _set(broken, dotted, value)
    assert bool(schema_errors(broken, chart_schema)) is chart_rejects
    assert schema_errors(broken, _strict(chart_schema))


# ------------------------------------------------------------------------------------------------
# project rules


def _walk(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield path + (key,), key, value
            yield from _walk(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield path + (index,), None, value
            yield from _walk(value, path + (index,))


SECRET_KEY = re.compile(r"password|passwd|api_?key|token", re.IGNORECASE)
SECRET_LOOKING = re.compile(r"\bsk-[A-Za-z0-9_-]{6,}")


def secret_findings(values: dict) -> list[str]:
    """Secret values written into Helm values (which end up in ConfigMaps and `helm get values`)."""
    findings = []
    if values.get("generatePostgresqlPasswordSecret", True) is not False:
        findings.append(
            "generatePostgresqlPasswordSecret must be false: the chart would make the Secret from values"
        )
    for path, key, value in _walk(values):
        where = ".".join(map(str, path))
        if key in SECRET_VARIABLES:
            findings.append(f"{where}: {key} set in values")
        if isinstance(value, dict) and value.get("name") in SECRET_VARIABLES and "value" in value:
            findings.append(f"{where}: {value['name']} set in values")
        scalar = value is not None and not isinstance(value, (bool, dict, list)) and value != ""
        if isinstance(key, str) and SECRET_KEY.search(key) and scalar:
            findings.append(f"{where}: a secret value")
        if isinstance(value, str):
            name, sep, _ = value.partition("=")
            if (sep and name in SECRET_VARIABLES) or SECRET_LOOKING.search(value):
                findings.append(f"{where}: a secret value")
    return findings


def test_no_secret_values_in_values(values):
    assert secret_findings(values) == []
    # the variables' names do not even appear: keys arrive through Secrets named in envSecrets
    text = json.dumps(values)
    assert not [name for name in SECRET_VARIABLES if name in text]


@pytest.mark.parametrize(
    "changes",
    [
        {f"{DEPLOYMENT}.env.ANTHROPIC_API_KEY": "sk-ant-api03-abcdefgh"},
        {f"{DEPLOYMENT}.env": [{"name": "OPENAI_API_KEY", "value": "not-a-real-key"}]},
        {"runLauncher.config.k8sRunLauncher.envVars": ["LABEL_STUDIO_API_KEY=0123456789abcdef"]},
        {"postgresql.postgresqlPassword": "hunter2"},
        {"generatePostgresqlPasswordSecret": True},
        {f"{DEPLOYMENT}.env.SYNTH_ASSETS_LLM_BASE_URL": "https://x.example/?key=sk-proj-abcdefghij"},
    ],
)
def test_plaintext_secrets_break_the_rule(values, chart_schema, changes):
    leaky = copy.deepcopy(values)
    for dotted, value in changes.items():
        _set(leaky, dotted, value)
    assert secret_findings(leaky)


def test_secrets_are_referenced_by_name_and_the_example_has_only_placeholders(
    values, deployment, executor_config
):
    secrets = {
        s["metadata"]["name"]: s for s in yaml.safe_load_all((K8S / "secrets.example.yaml").read_text())
    }
    assert "EXAMPLE ONLY" in (K8S / "secrets.example.yaml").read_text().splitlines()[0]
    for secret in secrets.values():
        assert secret["kind"] == "Secret"
        assert set(secret["stringData"].values()) == {"<placeholder>"}

    (api_keys,) = {s["name"] for s in deployment["envSecrets"]}
    assert set(secrets[api_keys]["stringData"]) == API_KEY_VARIABLES
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert {s["name"] for s in launcher["envSecrets"]} == {api_keys}
    assert set(executor_config["execution"]["config"]["env_secrets"]) == {api_keys}

    pg_secret = values["global"]["postgresqlSecretName"]
    assert set(secrets[pg_secret]["stringData"]) == {"postgresql-password"}  # the key the chart reads
    assert values["generatePostgresqlPasswordSecret"] is False
    assert "postgresqlPassword" not in values["postgresql"]


def test_one_outputs_volume_for_code_server_run_and_step_pods(values, deployment, executor_config):
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    executor = executor_config["execution"]["config"]
    # identical entries: dagster-k8s merges the three into one volume (two different ones that
    # share a name would make an invalid pod)
    assert deployment["volumes"] == launcher["volumes"] == executor["volumes"]
    assert deployment["volumeMounts"] == launcher["volumeMounts"] == executor["volume_mounts"]
    (volume,) = deployment["volumes"]
    (mount,) = deployment["volumeMounts"]
    assert mount["name"] == volume["name"]
    assert deployment["env"]["SYNTH_ASSETS_OUTPUT_DIR"] == mount["mountPath"]

    pvc = _load_yaml("outputs-pvc.yaml")
    assert pvc["kind"] == "PersistentVolumeClaim"
    assert volume["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert "ReadWriteMany" in pvc["spec"]["accessModes"]
    namespaces = {pvc["metadata"]["namespace"], executor["job_namespace"], RELEASE_NAMESPACE}
    namespaces |= {
        s["metadata"]["namespace"] for s in yaml.safe_load_all((K8S / "secrets.example.yaml").read_text())
    }
    assert namespaces == {RELEASE_NAMESPACE}


def test_instance_settings_match_deploy_dagster_yaml(values):
    instance = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    runs, pools = instance["concurrency"]["runs"], instance["concurrency"]["pools"]
    concurrency = values["concurrency"]
    assert concurrency["enabled"] is True
    assert concurrency["runs"]["maxConcurrentRuns"] == runs["max_concurrent_runs"]
    assert concurrency["runs"]["tagConcurrencyLimits"] == runs["tag_concurrency_limits"]
    assert concurrency["pools"]["defaultLimit"] == pools["default_limit"]

    coordinator = values["dagsterDaemon"]["runCoordinator"]
    assert (coordinator["enabled"], coordinator["type"]) == (True, "QueuedRunCoordinator")
    assert instance["run_coordinator"]["class"] == coordinator["type"]
    # the chart fails when the same limit is set both here and in the coordinator's config
    queued = coordinator.get("config", {}).get("queuedRunCoordinator", {})
    assert not {"maxConcurrentRuns", "tagConcurrencyLimits"} & set(queued)

    assert values["telemetry"]["enabled"] is instance["telemetry"]["enabled"] is False
    postgres = values["postgresql"]
    assert postgres["enabled"] is False and postgres["postgresqlHost"]
    assert postgres["postgresqlScheme"] == instance["storage"]["postgres"]["postgres_db"]["scheme"]


def test_settings_are_ones_the_code_accepts(deployment):
    from synth_assets.defs.partitions import partitions_start
    from synth_assets.defs.review_resource import BACKENDS as REVIEW_BACKENDS
    from synth_assets.llm.backends import BACKENDS as LLM_BACKENDS

    env = deployment["env"]
    assert all(isinstance(v, str) for v in env.values())  # a ConfigMap holds strings
    assert {k for k in env if k.startswith("SYNTH_ASSETS_")} <= {
        "SYNTH_ASSETS_OUTPUT_DIR",
        "SYNTH_ASSETS_INBOX",
        "SYNTH_ASSETS_DATA_DIR",
        "SYNTH_ASSETS_LLM_BACKEND",
        "SYNTH_ASSETS_LLM_MODEL",
        "SYNTH_ASSETS_LLM_BASE_URL",
        "SYNTH_ASSETS_REVIEW_BACKEND",
        "SYNTH_ASSETS_LABEL_STUDIO_URL",
        "SYNTH_ASSETS_PARTITIONS_START",
        "SYNTH_ASSETS_C2PA_SIGNING_KEY",
        "SYNTH_ASSETS_C2PA_SIGNING_CERT",
    }
    assert env["SYNTH_ASSETS_LLM_BACKEND"] in LLM_BACKENDS
    assert env["SYNTH_ASSETS_REVIEW_BACKEND"] in REVIEW_BACKENDS
    start = env["SYNTH_ASSETS_PARTITIONS_START"]
    assert partitions_start(start, dt.datetime.now(dt.UTC).date()).isoformat() == start
    assert env["GX_ANALYTICS_ENABLED"] == "false"


@pytest.fixture(scope="module")
def project_defs():
    return importlib.import_module("synth_assets.definitions").defs()


def test_code_location_module_loads(deployment, project_defs):
    from dagster import Definitions

    assert deployment["dagsterApiGrpcArgs"] == ["-m", "synth_assets.definitions"]
    assert deployment["port"] == 3030
    assert isinstance(project_defs, Definitions)
    for job in ("tabular_lane", "image_lane", "instruction_lane", "publish", "full_graph"):
        assert project_defs.resolve_job_def(job).name == job


# ------------------------------------------------------------------------------------------------
# dagster-k8s: what the chart renders and the step pods


def _names(refs) -> list[str]:
    return [ref["name"] for ref in refs or [] if "name" in ref]


def render_run_launcher(values: dict) -> dict:
    """``run_launcher.config`` of the instance's dagster.yaml as the chart renders it
    (``dagsterYaml.runLauncher.k8s`` in helm/dagster/templates/helpers/instance/_run-launcher.tpl),
    for the keys these values use; unset keys take the chart defaults (loadInclusterConfig: true,
    imagePullPolicy: Always)."""
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    config = {
        "load_incluster_config": launcher.get("loadInclusterConfig", True),
        "job_namespace": launcher.get("jobNamespace") or RELEASE_NAMESPACE,
        "image_pull_policy": launcher.get("imagePullPolicy", "Always"),
        "service_account_name": FULLNAME,
        "dagster_home": values.get("global", {}).get("dagsterHome", "/opt/dagster/dagster_home"),
        "instance_config_map": f"{FULLNAME}-instance",
        "postgres_password_secret": values["global"]["postgresqlSecretName"],
    }
    for key, rendered in [
        ("envConfigMaps", "env_config_maps"),
        ("envSecrets", "env_secrets"),
    ]:
        if launcher.get(key):
            config[rendered] = _names(launcher[key])
    for key, rendered in [
        ("envVars", "env_vars"),
        ("volumeMounts", "volume_mounts"),
        ("volumes", "volumes"),
        ("labels", "labels"),
        ("resources", "resources"),
        ("schedulerName", "scheduler_name"),
        ("securityContext", "security_context"),
    ]:
        if launcher.get(key):
            config[rendered] = launcher[key]
    if launcher.get("failPodOnRunFailure"):
        config["fail_pod_on_run_failure"] = True
    if launcher.get("runK8sConfig"):
        config["run_k8s_config"] = {
            snake: launcher["runK8sConfig"][camel]
            for camel, snake in [
                ("containerConfig", "container_config"),
                ("podSpecConfig", "pod_spec_config"),
                ("podTemplateSpecMetadata", "pod_template_spec_metadata"),
                ("jobSpecConfig", "job_spec_config"),
                ("jobMetadata", "job_metadata"),
            ]
            if launcher["runK8sConfig"].get(camel)
        }
    return config


def render_code_server_container_context(deployment: dict) -> dict:
    """The container context the code server hands to its runs (``includeConfigInLaunchedRuns``),
    as ``dagsterUserDeployments.k8sContainerContext`` in the user-deployments subchart renders it."""
    k8s = {
        "image_pull_policy": deployment["image"]["pullPolicy"],
        "env_config_maps": [
            f"{SUBCHART_FULLNAME}-{deployment['name']}-user-env",
            *_names(deployment.get("envConfigMaps")),
        ],
        "namespace": RELEASE_NAMESPACE,
        "service_account_name": f"{SUBCHART_FULLNAME}-user-deployments",
        "run_k8s_config": {"pod_spec_config": {"automount_service_account_token": True}},
    }
    if deployment.get("envSecrets"):
        k8s["env_secrets"] = _names(deployment["envSecrets"])
    for key, rendered in [("volumeMounts", "volume_mounts"), ("volumes", "volumes"), ("labels", "labels"),
                          ("resources", "resources")]:  # fmt: skip
        if deployment.get(key):
            k8s[rendered] = deployment[key]
    return {"k8s": k8s}


@pytest.fixture(scope="module")
def k8s():
    return pytest.importorskip(
        "dagster_k8s", reason="dagster-k8s is not installed (pip install dagster-k8s==0.29.*)"
    )


@pytest.fixture(scope="module")
def k8s_defs(k8s):
    from synth_assets.kubernetes import defs

    return defs()


def test_dagster_k8s_matches_dagster(k8s):
    # integration libraries are versioned 0.(minor + 16).patch beside dagster 1.minor.patch
    _, minor, patch = metadata.version("dagster").split(".")
    assert k8s.__version__ == f"0.{int(minor) + 16}.{patch}"


def _launcher_config(k8s, values) -> dict:
    from dagster import Shape
    from dagster._config import process_config

    processed = process_config(Shape(k8s.K8sRunLauncher.config_type()), render_run_launcher(values))
    assert processed.success, processed.errors
    return processed.value


def test_rendered_run_launcher_config_is_valid(k8s, values):
    config = _launcher_config(k8s, values)
    assert config["env_secrets"] == ["synth-assets-api-keys"]
    assert config["postgres_password_secret"] == values["global"]["postgresqlSecretName"]


def test_code_server_container_context_is_accepted(k8s, deployment):
    from dagster_k8s.container_context import K8sContainerContext

    context = K8sContainerContext.create_from_config(render_code_server_container_context(deployment))
    # converted to Kubernetes model fields (unknown fields would have raised)
    config = context.run_k8s_config
    assert config.container_config["env_from"][-1] == {"secret_ref": {"name": "synth-assets-api-keys"}}
    assert config.container_config["volume_mounts"] == [{"name": "outputs", "mount_path": "/data/outputs"}]
    (volume,) = config.pod_spec_config["volumes"]
    assert volume["persistent_volume_claim"] == {"claim_name": "synth-assets-outputs"}


@pytest.mark.parametrize("job", ["tabular_lane", "instruction_lane", "image_lane", "publish", "full_graph"])
def test_k8s_executor_run_config_is_accepted_by_the_jobs(k8s, k8s_defs, executor_config, job):
    from dagster import validate_run_config

    job_def = k8s_defs.resolve_job_def(job)
    assert job_def.executor_def is k8s.k8s_job_executor
    validated = validate_run_config(job_def, executor_config)
    # the processed config, with Dagster's defaults filled in, under the executor's name
    processed = validated["execution"][k8s.k8s_job_executor.name]
    assert processed["job_namespace"] == RELEASE_NAMESPACE
    assert processed["env_secrets"] == ["synth-assets-api-keys"]


def test_run_config_errors_are_caught(k8s, k8s_defs, project_defs, executor_config):
    from dagster import DagsterInvalidConfigError, validate_run_config

    typo = copy.deepcopy(executor_config)
    typo["execution"]["config"]["job_namespac"] = typo["execution"]["config"].pop("job_namespace")
    with pytest.raises(DagsterInvalidConfigError):
        validate_run_config(k8s_defs.resolve_job_def("tabular_lane"), typo)
    # the default code location runs steps as processes: k8s executor config is not its config
    with pytest.raises(DagsterInvalidConfigError):
        validate_run_config(project_defs.resolve_job_def("tabular_lane"), executor_config)


def step_job(k8s, values, deployment, executor_config):
    """The Kubernetes Job dagster-k8s would create for one step: the run launcher's settings, the
    code server's container context and the executor's config merged as ``K8sStepHandler`` does,
    then ``construct_dagster_k8s_job`` (no API call)."""
    from dagster._config import process_config
    from dagster_k8s.container_context import K8sContainerContext
    from dagster_k8s.job import DagsterK8sJobConfig, UserDefinedDagsterK8sConfig, construct_dagster_k8s_job

    launcher = _launcher_config(k8s, values)
    from_launcher = K8sContainerContext(
        image_pull_policy=launcher.get("image_pull_policy"),
        service_account_name=launcher.get("service_account_name"),
        env_config_maps=launcher.get("env_config_maps"),
        env_secrets=launcher.get("env_secrets"),
        env_vars=launcher.get("env_vars"),
        volume_mounts=launcher.get("volume_mounts"),
        volumes=launcher.get("volumes"),
        labels=launcher.get("labels"),
        namespace=launcher.get("job_namespace"),
        resources=launcher.get("resources"),
        security_context=launcher.get("security_context"),
        run_k8s_config=UserDefinedDagsterK8sConfig.from_dict(launcher.get("run_k8s_config") or {}),
    )
    from_code_server = K8sContainerContext.create_from_config(
        render_code_server_container_context(deployment)
    )
    # the executor's config after Dagster's processing, as k8s_job_executor receives it, turned into
    # a container context the way k8s_job_executor does
    executor_schema = k8s.k8s_job_executor.config_schema.as_field().config_type
    processed = process_config(executor_schema, executor_config["execution"]["config"])
    assert processed.success, processed.errors
    cfg = processed.value
    from_executor = K8sContainerContext(
        env_config_maps=cfg.get("env_config_maps"),
        env_secrets=cfg.get("env_secrets"),
        env_vars=cfg.get("env_vars"),
        volume_mounts=cfg.get("volume_mounts"),
        volumes=cfg.get("volumes"),
        labels=cfg.get("labels"),
        namespace=cfg.get("job_namespace"),
        resources=cfg.get("resources"),
        security_context=cfg.get("security_context"),
        run_k8s_config=UserDefinedDagsterK8sConfig.from_dict(cfg.get("step_k8s_config", {})),
    )
    context = from_launcher.merge(from_code_server).merge(from_executor)
    image = f"{deployment['image']['repository']}:{deployment['image']['tag']}"
    job_config = DagsterK8sJobConfig(
        job_image=image,
        dagster_home=launcher["dagster_home"],
        instance_config_map=launcher["instance_config_map"],
        postgres_password_secret=launcher["postgres_password_secret"],
    )
    return construct_dagster_k8s_job(
        job_config,
        ["dagster", "api", "execute_step"],
        "dagster-step-test",
        context.run_k8s_config,
        pod_name="dagster-step-test",
        component="step_worker",
        labels={"dagster/job": "tabular_lane", "dagster/op": "tabular_synth"},
        env_vars=[],
    )


def test_step_pod_mounts_the_volume_and_reads_the_secrets(k8s, values, deployment, executor_config):
    job = step_job(k8s, values, deployment, executor_config)
    pod = job.spec.template.spec
    (container,) = pod.containers
    assert container.image == "registry.example.com/synth-assets:0.1.0"

    (volume,) = [v for v in pod.volumes if v.persistent_volume_claim]
    assert volume.persistent_volume_claim.claim_name == "synth-assets-outputs"
    assert [v.name for v in pod.volumes].count(volume.name) == 1  # three identical entries merged
    assert [(m.name, m.mount_path) for m in container.volume_mounts if m.name == volume.name] == [
        (volume.name, deployment["env"]["SYNTH_ASSETS_OUTPUT_DIR"])
    ]

    secret_refs = [f.secret_ref.name for f in container.env_from if f.secret_ref]
    assert secret_refs == ["synth-assets-api-keys"]
    config_maps = [f.config_map_ref.name for f in container.env_from if f.config_map_ref]
    assert f"{SUBCHART_FULLNAME}-synth-assets-user-env" in config_maps  # SYNTH_ASSETS_* settings
    (password,) = [e for e in container.env if e.name == "DAGSTER_PG_PASSWORD"]
    assert password.value is None
    ref = password.value_from.secret_key_ref
    assert (ref.name, ref.key) == (values["global"]["postgresqlSecretName"], "postgresql-password")

    # the step's own resources win over the run pod's; the pod runs as the image's user
    assert container.resources.requests == {"cpu": "1", "memory": "4Gi"}
    assert (pod.security_context.run_as_user, pod.security_context.fs_group) == (10001, 10001)
    assert pod.security_context.run_as_non_root is True


def test_misspelled_kubernetes_fields_fail_when_the_pod_is_built(k8s, values, deployment, executor_config):
    broken = copy.deepcopy(executor_config)
    broken["execution"]["config"]["volumes"] = [
        {"name": "outputs", "persistentVolumeClam": {"claimName": "x"}}
    ]
    with pytest.raises(Exception, match="persistentVolumeClam"):
        step_job(k8s, values, deployment, broken)


# ------------------------------------------------------------------------------------------------
# Dockerfile, statically


def _instructions(path: Path) -> list[tuple[str, str]]:
    lines, current = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        current += " " + line.rstrip("\\").strip() if current else line.rstrip("\\").strip()
        if not raw.rstrip().endswith("\\"):
            instruction, _, args = current.partition(" ")
            lines.append((instruction.upper(), args.strip()))
            current = ""
    return lines


@pytest.fixture(scope="module")
def dockerfile():
    return _instructions(K8S / "Dockerfile")


def _args(dockerfile) -> dict[str, str]:
    found = {}
    for instruction, args in dockerfile:
        if instruction == "ARG" and "=" in args:
            name, _, default = args.partition("=")
            found[name] = default.strip('"')
    return found


def _pinned(requirement_name: str) -> str:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (pin,) = [d for d in dependencies if re.match(rf"{requirement_name}\s*==", d)]
    return pin.split("==")[1].strip()


def test_dockerfile_base_image_and_cpu_torch(dockerfile):
    args = _args(dockerfile)
    assert args["PYTHON_IMAGE"] == "python:3.11-slim-bookworm"
    froms = [a for i, a in dockerfile if i == "FROM"]
    assert froms and all(a.split()[0] == "${PYTHON_IMAGE}" for a in froms)

    runs = [a for i, a in dockerfile if i == "RUN"]
    (torch_install,) = [r for r in runs if "torch==" in r]
    assert "--index-url https://download.pytorch.org/whl/cpu" in torch_install
    assert args["TORCH_VERSION"] == _pinned("torch")
    (project_install,) = [r for r in runs if "pip install /tmp/build" in r]
    assert runs.index(torch_install) < runs.index(project_install)
    assert "torch.version.cuda" in project_install  # the build fails if a CUDA torch slipped in
    # llama-cpp-python compiles from source in the build stage
    assert any("build-essential" in r and "cmake" in r for r in runs)


def test_dockerfile_dagster_versions_match_the_environment_and_chart(dockerfile):
    args = _args(dockerfile)
    assert args["DAGSTER_VERSION"] == metadata.version("dagster")
    assert args["DAGSTER_LIBS_VERSION"] == metadata.version("dagster-postgres")
    (project_install,) = [a for i, a in dockerfile if i == "RUN" and "pip install /tmp/build" in a]
    for pin in ("dagster==${DAGSTER_VERSION}", "dagster-postgres==${DAGSTER_LIBS_VERSION}",
                "dagster-k8s==${DAGSTER_LIBS_VERSION}"):  # fmt: skip
        assert pin in project_install
    chart = f"--version {args['DAGSTER_VERSION']}"
    assert chart in (K8S / "README.md").read_text() and chart in (K8S / "values.yaml").read_text()


def test_dockerfile_runs_as_non_root(dockerfile):
    final_stage = dockerfile[max(i for i, (ins, _) in enumerate(dockerfile) if ins == "FROM") :]
    users = [a for i, a in final_stage if i == "USER"]
    assert users, "the final stage sets no USER (it would run as root)"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0") and int(user) >= 1000
    assert "runAsUser: " + user in (K8S / "values.yaml").read_text()


def test_dockerfile_copies_only_the_project_and_holds_no_secrets(dockerfile):
    copies = set()
    for instruction, args in dockerfile:
        if instruction == "COPY":
            parts = [p for p in args.split() if not p.startswith("--")]
            if "--from=" not in args:
                copies.update(parts[:-1])
    assert copies == {"pyproject.toml", "README.md", "synth_assets"}
    assert all((ROOT / c).exists() for c in copies)
    ignore = (K8S / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*") :][:1] == ["*"]  # everything else stays out of the context
    assert {f"!{c}" if (ROOT / c).is_file() else f"!{c}/" for c in copies} <= set(ignore)

    for instruction, args in dockerfile:
        if instruction in ("ENV", "ARG", "LABEL"):
            assert not SECRET_KEY.search(args) and "SECRET" not in args.upper(), args
        assert not [name for name in SECRET_VARIABLES if name in args]
        assert not SECRET_LOOKING.search(args)
