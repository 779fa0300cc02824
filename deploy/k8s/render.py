"""Renders a kustomize overlay of deploy/k8s without the kustomize binary.

No kustomize or Helm can be installed here from Debian, PyPI or npm, and CI must still
prove that every overlay renders to valid objects. This renderer implements exactly the
part of kustomize's ``Kustomization`` that deploy/k8s uses, with kustomize's meaning, and
refuses anything else instead of ignoring it, so a manifest it accepts renders the same
under ``kubectl apply -k``:

* ``resources``: YAML files and directories holding a kustomization, in order;
* ``namespace``: set on every namespaced object;
* ``labels`` with ``pairs``: added to every object's ``metadata.labels`` (no selectors);
* ``images``: ``newName``/``newTag``/``digest`` for containers whose image has that name
  (one no container uses is an error here; kustomize would skip it);
* ``replicas``: ``spec.replicas`` of the named workload (an unknown name is an error here,
  where kustomize would skip it silently);
* ``patches``: inline or file JSON 6902 operations (add, remove, replace) on the objects
  matching ``target`` (``kind``, and ``name`` as an anchored regular expression).

Usage: ``python -m deploy.k8s.render deploy/k8s/overlays/production``.
"""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path
from typing import Any

import yaml

KNOWN_KEYS = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "labels",
    "images",
    "replicas",
    "patches",
}
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
}
WORKLOADS = {"Deployment", "StatefulSet", "ReplicaSet"}

Obj = dict[str, Any]


class RenderError(ValueError):
    """The kustomization uses something this renderer does not implement, or is wrong."""


def load_yaml(path: Path) -> list[Obj]:
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except (OSError, yaml.YAMLError) as exc:
        raise RenderError(f"{path}: {exc}") from exc
    for doc in docs:
        if not isinstance(doc, dict) or "kind" not in doc or "metadata" not in doc:
            raise RenderError(f"{path}: every document must be an object with kind and metadata")
    return docs


def render(directory: Path) -> list[Obj]:
    """The objects the kustomization in ``directory`` produces, in resource order."""
    path = directory / "kustomization.yaml"
    if not path.is_file():
        raise RenderError(f"{directory}: no kustomization.yaml")
    spec = yaml.safe_load(path.read_text()) or {}
    unknown = set(spec) - KNOWN_KEYS
    if unknown:
        raise RenderError(f"{path}: not supported here: {', '.join(sorted(unknown))}")
    objects: list[Obj] = []
    for entry in spec.get("resources", []):
        target = (directory / entry).resolve()
        objects += render(target) if target.is_dir() else load_yaml(target)
    for patch in spec.get("patches", []):
        apply_patch(objects, patch, directory)
    if "namespace" in spec:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = spec["namespace"]
    for label in spec.get("labels", []):
        if set(label) - {"pairs"}:
            raise RenderError(f"{path}: labels support only pairs")
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(label["pairs"])
    for image in spec.get("images", []):
        set_image(objects, image)
    for item in spec.get("replicas", []):
        set_replicas(objects, item["name"], int(item["count"]))
    return objects


def pod_spec(obj: Obj) -> Obj | None:
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    template = spec.get("template")
    return template.get("spec") if isinstance(template, dict) else None


def set_image(objects: list[Obj], image: Obj) -> None:
    unknown = set(image) - {"name", "newName", "newTag", "digest"}
    if unknown:
        raise RenderError(f"images: not supported: {', '.join(sorted(unknown))}")
    found = False
    for obj in objects:
        pod = pod_spec(obj) or {}
        for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
            name, tag = split_image(container["image"])
            if name != image["name"]:
                continue
            found = True
            name = image.get("newName", name)
            if "digest" in image:
                container["image"] = f"{name}@{image['digest']}"
            else:
                tag = image.get("newTag", tag)
                container["image"] = f"{name}:{tag}" if tag else name
    if not found:
        raise RenderError(f"images: no container uses the image {image['name']}")


def split_image(image: str) -> tuple[str, str]:
    """``name[:tag][@digest]`` -> name, tag (a registry's ``host:port/`` is part of the name)."""
    image = image.split("@", 1)[0]
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1 :]
    return image, ""


def set_replicas(objects: list[Obj], name: str, count: int) -> None:
    found = [o for o in objects if o["kind"] in WORKLOADS and o["metadata"]["name"] == name]
    if not found:
        raise RenderError(f"replicas: no Deployment or StatefulSet named {name}")
    for obj in found:
        obj["spec"]["replicas"] = count


def apply_patch(objects: list[Obj], patch: Obj, directory: Path) -> None:
    if "patch" in patch:
        ops = yaml.safe_load(patch["patch"])
    elif "path" in patch:
        ops = yaml.safe_load((directory / patch["path"]).read_text())
    else:
        raise RenderError("patches: each needs patch or path")
    if not isinstance(ops, list):
        raise RenderError("patches: only JSON 6902 patches (a list of operations) are supported")
    target = patch.get("target") or {}
    unknown = set(target) - {"kind", "name"}
    if unknown:
        raise RenderError(f"patches: target supports kind and name, not {', '.join(unknown)}")
    matched = [o for o in objects if matches(o, target)]
    if not matched:
        raise RenderError(f"patches: nothing matches {target}")
    for obj in matched:
        for op in ops:
            apply_operation(obj, op)


def matches(obj: Obj, target: Obj) -> bool:
    if "kind" in target and obj["kind"] != target["kind"]:
        return False
    return "name" not in target or re.fullmatch(target["name"], obj["metadata"]["name"]) is not None


def apply_operation(doc: Obj, op: Obj) -> None:
    """One RFC 6902 operation (add, remove, replace) at a JSON pointer."""
    kind = op.get("op")
    if kind not in {"add", "remove", "replace"}:
        raise RenderError(f"patches: operation {kind!r} is not supported")
    parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
    if not parts:
        raise RenderError("patches: the whole document cannot be patched")
    parent: Any = doc
    for part in parts[:-1]:
        parent = child(parent, part, op["path"])
    last = parts[-1]
    value = copy.deepcopy(op.get("value"))
    if isinstance(parent, list):
        if kind == "add" and last == "-":
            parent.append(value)
            return
        index = list_index(parent, last, op["path"], allow_end=kind == "add")
        if kind == "add":
            parent.insert(index, value)
        elif kind == "remove":
            del parent[index]
        else:
            parent[index] = value
        return
    if not isinstance(parent, dict):
        raise RenderError(f"patches: {op['path']}: parent is not an object")
    if kind != "add" and last not in parent:
        raise RenderError(f"patches: {op['path']} does not exist")
    if kind == "remove":
        del parent[last]
    else:
        parent[last] = value


def child(node: Any, part: str, path: str) -> Any:
    if isinstance(node, list):
        return node[list_index(node, part, path, allow_end=False)]
    if isinstance(node, dict) and part in node:
        return node[part]
    raise RenderError(f"patches: {path} does not exist")


def list_index(items: list[Any], part: str, path: str, allow_end: bool) -> int:
    if not part.isdigit() or int(part) > len(items) or (int(part) == len(items) and not allow_end):
        raise RenderError(f"patches: {path}: no list item {part}")
    return int(part)


def dump(objects: list[Obj]) -> str:
    return yaml.safe_dump_all(objects, sort_keys=False)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m deploy.k8s.render OVERLAY_DIR", file=sys.stderr)
        return 2
    try:
        sys.stdout.write(dump(render(Path(argv[0]))))
    except RenderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
