"""Customer tags through `tagsAdd` and `tagsRemove`, several customers per request.

A batch is one mutation document holding, for each customer `i`, the aliased fields `remove<i>`
and `add<i>` of `queries/customer_segment_tags.graphql`; Shopify charges each mutation field
and the client waits for the cost bucket between batches (see `client.py`), so a batch of 25
customers costs 500 points and batches follow the shop's restore rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from connectors.shopify.client import GraphQLClient

BATCH = 25


@dataclass(frozen=True)
class TagChange:
    """Tags to add to and remove from one customer (`customer_id` numeric or a gid)."""

    customer_id: str
    add: tuple[str, ...]
    remove: tuple[str, ...]

    @property
    def gid(self) -> str:
        text = str(self.customer_id)
        return text if text.startswith("gid://") else f"gid://shopify/Customer/{text}"


@dataclass(frozen=True)
class TagResult:
    change: TagChange
    errors: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


_FIELDS = "userErrors { field message }"


@lru_cache(maxsize=256)
def batch_document(removes: tuple[bool, ...]) -> str:
    """The mutation for `len(removes)` customers (aliases `remove<i>`, `add<i>`); customer `i`
    gets a `tagsRemove` only when `removes[i]` (Shopify refuses an empty tag list)."""
    if not 1 <= len(removes) <= 100:
        raise ValueError("a batch holds 1 to 100 customers")
    variables, fields = [], []
    for i, remove in enumerate(removes):
        variables.append(f"$id{i}: ID!, $add{i}: [String!]!")
        if remove:
            variables.append(f"$remove{i}: [String!]!")
            fields.append(f"  remove{i}: tagsRemove(id: $id{i}, tags: $remove{i}) {{ {_FIELDS} }}")
        fields.append(f"  add{i}: tagsAdd(id: $id{i}, tags: $add{i}) {{ {_FIELDS} }}")
    return f"mutation CustomerSegmentTagsBatch({', '.join(variables)}) {{\n" + "\n".join(fields) + "\n}\n"


def _errors(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["no answer for this customer"]
    return [str(e.get("message")) for e in payload.get("userErrors") or () if isinstance(e, dict)]


def write_batch(client: GraphQLClient, changes: Sequence[TagChange]) -> list[TagResult]:
    """Apply one batch of changes in one request; a customer's user errors are its own."""
    variables: dict[str, Any] = {}
    for i, change in enumerate(changes):
        if not change.add:
            raise ValueError("every change adds a tag")
        variables[f"id{i}"] = change.gid
        variables[f"add{i}"] = list(change.add)
        if change.remove:
            variables[f"remove{i}"] = list(change.remove)
    document = batch_document(tuple(bool(c.remove) for c in changes))
    data = client.execute(document, variables, "CustomerSegmentTagsBatch")
    return [
        TagResult(
            change,
            tuple((_errors(data.get(f"remove{i}")) if change.remove else []) + _errors(data.get(f"add{i}"))),
        )
        for i, change in enumerate(changes)
    ]
