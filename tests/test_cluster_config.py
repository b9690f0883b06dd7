"""cluster.yaml, offline: Ray's own cluster-config validation, then what mftune relies on.

``ray up`` has no dry run and needs cloud credentials; Ray's launcher prepares and
validates a config with ``prepare_config`` (merges the provider's defaults.yaml) and
``validate_config`` (its JSON schema plus cross-field checks), which need neither.
The GCP and on-prem fragments commented at the bottom of cluster.yaml go through the
same validation after being applied the way the file tells a reader to apply them.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import jsonschema
import pytest
import tomllib
import yaml
from packaging.requirements import Requirement
from ray.autoscaler._private.util import prepare_config, validate_config

ROOT = Path(__file__).resolve().parents[1]
CLUSTER_YAML = ROOT / "cluster.yaml"


def load() -> dict:
    return yaml.safe_load(CLUSTER_YAML.read_text())


def validated(config: dict) -> dict:
    prepared = prepare_config(copy.deepcopy(config))
    validate_config(prepared)
    return prepared


def fragment(tag: str) -> dict:
    """The YAML behind ``#[tag] `` in cluster.yaml, tag removed."""
    prefix = f"#[{tag}]"
    lines = [line[len(prefix) + 1 :] for line in CLUSTER_YAML.read_text().splitlines() if line.startswith(prefix)]
    assert lines, f"no {prefix} fragment in cluster.yaml"
    return yaml.safe_load("\n".join(lines))


def apply(config: dict, overlay: dict) -> dict:
    """As cluster.yaml says: top-level keys replace; a listed node type replaces only its keys."""
    out = copy.deepcopy(config)
    for key, value in overlay.items():
        if key == "available_node_types" and isinstance(value, dict):
            for node_type, keys in value.items():
                out[key][node_type].update(keys)
        else:
            out[key] = value
    return out


def node_types(prepared: dict) -> dict[str, dict]:
    return {name: t for name, t in prepared["available_node_types"].items() if name != prepared["head_node_type"]}


def setup_commands(prepared: dict, node_type: str) -> list[str]:
    """What a node of this type runs: a type's own worker_setup_commands replace the merged ones."""
    if node_type == prepared["head_node_type"]:
        return prepared["head_setup_commands"]
    return prepared["available_node_types"][node_type].get("worker_setup_commands", prepared["worker_setup_commands"])


def pip_installs(commands: list[str]) -> dict[str, tuple[int, Requirement | None, str]]:
    """Each ``pip install``: package name (a path for ``-e PATH``) -> (position, requirement, command)."""
    found = {}
    for command in commands:
        match = re.search(r"pip install (-U |-e )?(\"[^\"]+\"|\S+)", command)
        if not match:
            continue
        target = match.group(2).strip('"')
        if match.group(1) == "-e ":
            target = target.split("[")[0]  # the checkout, whatever extras it is installed with
        requirement = None if match.group(1) == "-e " else Requirement(target)
        found[requirement.name if requirement else target] = (len(found), requirement, command)
    return found


def project_requirement(name: str) -> Requirement:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + project["optional-dependencies"]["pipeline"]
    return next(r for r in map(Requirement, deps) if r.name == name)


def test_cluster_yaml_passes_rays_own_validation():
    prepared = validated(load())
    assert prepared["provider"]["type"] == "aws"
    assert prepared["head_node_type"] == "head.cpu"


@pytest.mark.parametrize(
    "path, value",
    [
        (("available_node_types", "worker.gpu", "resources", "GPU"), 0.5),  # fractions are per trial
        (("available_node_types", "worker.cpu", "min_workers"), 11),  # sum of min_workers > max_workers
        (("available_node_types", "worker.cpu", "instance_type"), "m5.large"),  # not a node-type key
    ],
)
def test_the_validation_used_here_rejects_broken_configs(path, value):
    config = load()
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises((jsonschema.ValidationError, ValueError)):
        validated(config)


def test_head_runs_no_trials():
    prepared = validated(load())
    head = prepared["available_node_types"][prepared["head_node_type"]]
    assert head["resources"] == {"CPU": 0}
    assert head["max_workers"] == 0  # filled in by prepare_config: only the one head


def test_worker_types_and_their_autoscaling_bounds():
    prepared = validated(load())
    workers = node_types(prepared)
    assert set(workers) == {"worker.cpu", "worker.gpu"}
    cpu, gpu = workers["worker.cpu"], workers["worker.gpu"]
    assert cpu["resources"]["CPU"] >= 1 and "GPU" not in cpu["resources"]
    # A GPU trial asks {"cpu": 1, "gpu": 0.5}: a GPU node holds two per GPU.
    assert gpu["resources"]["GPU"] >= 1 and gpu["resources"]["CPU"] >= 2 * gpu["resources"]["GPU"]
    assert cpu["min_workers"] >= 1  # CPU trials can start before any scale-up
    assert gpu["min_workers"] == 0  # GPU nodes only while GPU trials ask for them
    for t in workers.values():
        assert 0 <= t["min_workers"] <= t["max_workers"] <= prepared["max_workers"]
    assert sum(t["max_workers"] for t in workers.values()) <= prepared["max_workers"]


def test_every_node_installs_ray_torch_then_mftune_and_only_gpu_nodes_get_cuda_torch():
    # mftune after torch: its open torch requirement is then already met by the build
    # chosen for the node, and pip does not swap in another one.
    prepared = validated(load())
    [(remote_checkout, local)] = prepared["file_mounts"].items()
    assert local == "."  # this checkout (ray up runs from the repository root)
    torch_spec, ray_spec = project_requirement("torch"), project_requirement("ray")
    ray_pins, torch_pins = set(), set()
    for name, node_type in prepared["available_node_types"].items():
        installs = pip_installs(setup_commands(prepared, name))
        order = sorted(installs, key=lambda k: installs[k][0])
        assert order.index("ray") < order.index("torch") < order.index(remote_checkout), (name, order)
        assert '[pipeline]"' in installs[remote_checkout][2], f"{name}: the cluster runs the pipeline"
        _, ray_req, _ = installs["ray"]
        _, torch_req, torch_cmd = installs["torch"]
        assert {"default", "tune"} <= ray_req.extras  # the dashboard serves `ray job submit`
        ray_pins.add(str(ray_req.specifier))
        torch_pins.add(str(torch_req.specifier))
        cpu_build = "download.pytorch.org/whl/cpu" in torch_cmd
        has_gpu = node_type["resources"].get("GPU", 0) > 0
        assert cpu_build != has_gpu, f"{name}: CUDA torch exactly where there is a GPU"
    # One Ray and one torch version on every node, within what mftune itself requires.
    [ray_pin], [torch_pin] = ray_pins, torch_pins
    assert ray_pin.startswith("==") and ray_spec.specifier.contains(ray_pin[2:])
    assert torch_pin.startswith("==") and torch_spec.specifier.contains(torch_pin[2:])


def test_gcp_fragment_validates_and_keeps_the_node_types():
    prepared = validated(apply(load(), fragment("gcp")))
    assert prepared["provider"]["type"] == "gcp"
    gpu = prepared["available_node_types"]["worker.gpu"]
    assert gpu["resources"]["GPU"] == 1
    assert gpu["node_config"]["guestAccelerators"][0]["acceleratorCount"] == gpu["resources"]["GPU"]
    assert prepared["available_node_types"]["head.cpu"]["resources"] == {"CPU": 0}


def test_on_prem_fragment_validates_and_keeps_trials_off_the_head():
    overlay = fragment("local")
    prepared = validated(apply(load(), overlay))
    assert prepared["provider"]["type"] == "local"
    [start] = [c for c in prepared["head_start_ray_commands"] if "ray start" in c]
    assert "--head" in start and "--num-cpus=0" in start
    [local_type] = prepared["available_node_types"].values()
    assert local_type["max_workers"] == len(overlay["provider"]["worker_ips"])
