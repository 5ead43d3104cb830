"""Vendor the part of the official OpenAPI structure this project uses into the package.

Run from the repository root:
``python scripts/vendor_spec.py ../shared/reference/commercetools-customers.openapi.json``.
It keeps the 25 paths and every schema reachable from them (following ``$ref`` and discriminator
mappings), and drops the x-annotation prose, so the package carries ~200 KB instead of 730 KB.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from commercetools_customers_mcp.catalog.tools import FAMILIES

OUT = Path("src/commercetools_customers_mcp/spec/data/openapi.json")
# Components we need although no kept path references them by $ref: every family's resource, draft and
# update-action union (from the catalogue), and what the emulator keeps beside them.
EMULATOR_ROOTS = ["Cart", "CartDraft", "Project"]
ROOTS = [name for f in FAMILIES for name in (f.schema, f.draft, f.updates) if name] + EMULATOR_ROOTS
# Discriminated bases whose mapping we do NOT follow (30+ resource types we never touch).
NO_FOLLOW = {"ResourceIdentifier", "Reference", "KeyReference", "ErrorObject", "Message", "BaseResource"}


def main(src: str) -> None:
    doc = json.loads(Path(src).read_text())
    schemas = doc["components"]["schemas"]
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
    for r in ROOTS:
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
    ):
        add(name)

    def strip(node: object) -> object:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if not k.startswith("x-annotation")}
        if isinstance(node, list):
            return [strip(x) for x in node]
        return node

    out = {
        "openapi": doc["openapi"],
        "info": doc["info"],
        "paths": strip(doc["paths"]),
        "components": {
            "schemas": {k: strip(schemas[k]) for k in sorted(keep)},
            "responses": strip(doc["components"].get("responses", {})),
        },
    }
    OUT.write_text(json.dumps(out, separators=(",", ":"), sort_keys=True))
    print(f"{len(keep)} schemas, {OUT.stat().st_size} bytes -> {OUT}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/reference/commercetools-customers.openapi.json")
