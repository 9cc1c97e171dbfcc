"""User key remapping: a TOML file mapping binding ids to keys (no Textual here).

[keymap]
"runs.filter" = "f"
"app.quit" = "ctrl+q"
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from engine.errors import UserError

KEYMAP_ENV = "LEDGER_TUI_KEYMAP"


def default_keymap_path() -> Path:
    """Return `$XDG_CONFIG_HOME/ledger-tui/keymap.toml` (or under ~/.config)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ledger-tui" / "keymap.toml"


def load_keymap(explicit: str | None) -> dict[str, str]:
    """Read the keymap named by --keymap, $LEDGER_TUI_KEYMAP or the default path (if present)."""
    chosen = explicit or os.environ.get(KEYMAP_ENV)
    path = Path(chosen).expanduser() if chosen else default_keymap_path()
    if not path.exists():
        if chosen:
            raise UserError(f"The keymap file {path} does not exist.")
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise UserError(f"The keymap file {path} cannot be read: {error}.") from error
    table = data.get("keymap", data)
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in table.items()
    ):
        raise UserError(f'The keymap file {path} must map binding ids to keys: "app.quit" = "x".')
    return dict(table)
