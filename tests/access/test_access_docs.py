"""docs/access.md's table of actions is the one `authorize` checks."""

from __future__ import annotations

import re
from pathlib import Path

from lakestack.access import ACTIONS

DOC = Path(__file__).parents[2] / "docs" / "access.md"


def test_the_roles_table_lists_every_action_with_the_roles_it_needs() -> None:
    rows = re.findall(r"^\| `([a-z_.]+)` \| [^|]+ \| (\w+) \| (\w+) \|$", DOC.read_text(), re.M)
    documented = {name: (role, protected) for name, role, protected in rows}
    checked = {a.name: (a.role, a.protected_role) for a in ACTIONS.values()}
    assert documented == checked
