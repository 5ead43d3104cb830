"""Vendor the part of the official API structure this project uses into the package.

Run from the repository root (with the test extra installed: it reads the RAML with PyYAML):
``python scripts/vendor_spec.py ../shared/reference/commercetools-customers.openapi.json``.
It keeps the 25 paths and every schema reachable from them (following ``$ref`` and discriminator
mappings), and drops the x-annotation prose, so the package carries ~250 KB instead of 730 KB.

The OpenAPI file lacks what the emulator and the Messages tools need beyond the customer endpoints: the Project
(its configuration types and its 23 update actions) and the common fields of a Message (the payload of each
Message type it does carry: ``<Type>MessagePayload``). Those are converted from the official RAML beside it
(``raml/types/project``, ``raml/types/message``) into components of the same form the OpenAPI generator makes
(``allOf`` of the base and the member's own properties, a ``discriminator`` mapping for unions), and listed under
``x-from-raml``. The Message types kept are those the RAML subset defines (``raml/types/message/*Message.raml``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from commercetools_customers_mcp.core.catalog.tools import FAMILIES

OUT = Path("src/commercetools_customers_mcp/spec/data/openapi.json")
# Components we need although no kept path references them by $ref: every family's resource, draft and
# update-action union (from the catalogue), and what the emulator keeps beside them.
EMULATOR_ROOTS = ["Cart", "Project", "ProjectUpdateAction", "MessagePagedQueryResponse"]
ROOTS = [name for f in FAMILIES for name in (f.schema, f.draft, f.updates) if name] + EMULATOR_ROOTS
# Discriminated bases whose mapping we do NOT follow (30+ resource types we never touch).
NO_FOLLOW = {
    "ResourceIdentifier",
    "Reference",
    "KeyReference",
    "ErrorObject",
    "Message",
    "MessagePayload",
    "BaseResource",
}
# The RAML folders converted (every type in them), and the few types they name from elsewhere in the RAML.
RAML_FOLDERS = ("types/project", "types/project/updates")
RAML_MESSAGE_TYPES = (
    "Message",
    "UserProvidedIdentifiers",
    "MessagesConfiguration",
    "MessagesConfigurationDraft",
    "MessagePagedQueryResponse",
)
_SCALARS = {
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "datetime": {"type": "string", "format": "datetime"},
    "date-only": {"type": "string", "format": "date-only"},
    "any": {},
}
_KEPT_FACETS = ("enum", "pattern", "minimum", "maximum", "default", "minLength", "maxLength", "minItems", "maxItems")


def _raml_loader() -> type:
    import yaml  # the test extra has it (schemathesis needs it); only this script reads RAML

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!include", lambda loader, node: None)  # examples: not needed
    return Loader


def _raml_type(expr: object) -> dict:
    """A RAML type expression (``string``, ``Locale[]``, ``Name``) as an OpenAPI schema fragment."""
    if not isinstance(expr, str):
        raise ValueError(f"unsupported RAML type expression {expr!r}")
    if expr.endswith("[]"):
        return {"type": "array", "items": _raml_type(expr[:-2])}
    if expr in _SCALARS:
        return dict(_SCALARS[expr])
    return {"$ref": f"#/components/schemas/{expr}"}


def _raml_property(spec: object) -> dict:
    if isinstance(spec, str):
        return _raml_type(spec)
    assert isinstance(spec, dict), spec
    kind = spec.get("type", "string")
    if kind == "array":
        out = {"type": "array", "items": _raml_type(spec["items"])}
    elif kind == "number":
        out = {"type": "integer" if spec.get("format") in ("int32", "int64") else "number"}
        if "format" in spec:
            out["format"] = spec["format"]
    else:
        out = _raml_type(kind)
    out.update({k: spec[k] for k in _KEPT_FACETS if k in spec})
    return out


def raml_component(raw: dict) -> dict:
    """One RAML DataType as the OpenAPI generator writes it: scalars and enums as they are, objects with
    ``properties`` / ``required`` (``name?`` is optional), a subtype as ``allOf`` of its base and its own part."""
    base = raw.get("type", "object")
    if base in ("string", "number", "boolean"):
        out = _raml_property(raw)
        return out
    own: dict = {"type": "object"}
    props, required = {}, []
    for name, prop in (raw.get("properties") or {}).items():
        optional = name.endswith("?")
        name = name.rstrip("?")
        props[name] = _raml_property(prop if prop is not None else "string")
        if not optional:
            required.append(name)
    if props:
        own["properties"] = props
    if required:
        own["required"] = required
    if "discriminator" in raw:
        own["discriminator"] = {"propertyName": raw["discriminator"], "mapping": {}}
    if base == "object":
        return own
    return {"allOf": [{"$ref": f"#/components/schemas/{base}"}, own]}


def raml_components(raml: Path) -> dict[str, dict]:
    """The converted RAML types: every type of ``RAML_FOLDERS`` and ``RAML_MESSAGE_TYPES``, discriminator mappings
    filled from the members' ``discriminatorValue``. A Message is its common fields and its type's payload: the
    base says so with ``additionalProperties`` (the members are the OpenAPI payloads, ``spec.message_schema``)."""
    import yaml

    loader = _raml_loader()
    files = [f for folder in RAML_FOLDERS for f in sorted((raml / folder).glob("*.raml"))]
    files += [raml / "types/message" / f"{name}.raml" for name in RAML_MESSAGE_TYPES]
    raw = {f.stem: yaml.load(f.read_text(), Loader=loader) for f in files}
    out = {name: raml_component(body) for name, body in raw.items()}
    for name, body in raw.items():
        base, value = body.get("type"), body.get("discriminatorValue")
        if value is not None and base in out and "discriminator" in out[base]:
            out[base]["discriminator"]["mapping"][value] = f"#/components/schemas/{name}"
    out["Message"]["allOf"][1].pop("discriminator", None)
    out["Message"]["additionalProperties"] = True  # beside allOf, where spec.schema keeps it
    return out


def message_payloads(raml: Path) -> list[str]:
    """The payload component of every Message type the RAML subset defines."""
    names = [f.stem.removesuffix("Message") for f in sorted((raml / "types/message").glob("*Message.raml"))]
    return [f"{n}MessagePayload" for n in names if n]


def main(src: str) -> None:
    doc = json.loads(Path(src).read_text())
    raml = Path(src).parent / "raml"
    schemas = doc["components"]["schemas"]
    converted = raml_components(raml)
    clash = sorted(set(converted) & set(schemas))
    if clash:
        raise SystemExit(f"RAML types already in the OpenAPI file: {clash}")
    schemas.update(converted)
    keep: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k.startswith("x-annotation"):
                    continue
                if k == "$ref" and isinstance(v, str):
                    kind, name = v.split("/")[-2:]
                    if kind == "schemas":
                        add(name)
                    else:
                        walk(doc["components"][kind][name])
                else:
                    walk(v)
        elif isinstance(node, list):
            for x in node:
                walk(x)

    def add(name: str) -> None:
        if name in keep or name not in schemas:
            return
        keep.add(name)
        s = schemas[name]
        walk({k: v for k, v in s.items() if k != "discriminator"})
        if "discriminator" in s and name not in NO_FOLLOW:
            for target in s["discriminator"].get("mapping", {}).values():
                add(target.split("/")[-1])

    walk(doc["paths"])
    for r in [*ROOTS, *message_payloads(raml)]:
        if r not in schemas:
            raise SystemExit(f"root {r!r} is in neither the OpenAPI file nor the converted RAML")
        add(r)
    for name in (
        "AuthErrorResponse",
        "ConcurrentModificationError",
        "DuplicateFieldError",
        "ResourceNotFoundError",
        "InvalidInputError",
        "InvalidJsonInputError",
        "InvalidOperationError",
        "RequiredFieldError",
        "ReferencedResourceNotFoundError",
        "ReferenceExistsError",
        "SearchNotReadyError",
        "InvalidCurrentPasswordError",
        "ExpiredCustomerEmailTokenError",
        "ExpiredCustomerPasswordTokenError",
        "MaxResourceLimitExceededError",
        "LanguageUsedInStoresError",
    ):
        add(name)

    def strip(node: object) -> object:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if not k.startswith("x-annotation")}
        if isinstance(node, list):
            return [strip(x) for x in node]
        return node

    missing = sorted({r for name in keep for r in _refs(schemas[name])} - set(schemas))
    for name in missing:  # named by the RAML, defined outside the subset (ContainerAndKey): any object
        schemas[name] = {"type": "object"}
        keep.add(name)
    out = {
        "openapi": doc["openapi"],
        "info": doc["info"],
        "x-from-raml": sorted(set(converted) & keep),
        "paths": strip(doc["paths"]),
        "components": {
            "schemas": {k: strip(schemas[k]) for k in sorted(keep)},
            "responses": strip(doc["components"].get("responses", {})),
        },
    }
    OUT.write_text(json.dumps(out, separators=(",", ":"), sort_keys=True))
    print(f"{len(keep)} schemas, {OUT.stat().st_size} bytes -> {OUT}")


def _refs(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].split("/")[-1]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for k, v in node.items() if k != "discriminator"))
    if isinstance(node, list):
        return set().union(*(_refs(x) for x in node))
    return set()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/reference/commercetools-customers.openapi.json")
