"""A Footer that recomposes only when its keys changed, and does not keep the keys it removed.

Textual 8.2's Footer recomposes on every screen switch, and each FooterKey it composes binds
`compact` to it (`data_bind`), adding a watcher to the Footer that a recompose does not remove:
the removed keys stay reachable, ~50 KB per switch (bench/footer_leak.py reproduces it;
docs/dashboard.md has the upstream report).
"""

from __future__ import annotations

from collections.abc import Hashable

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

Signature = tuple[Hashable, ...]


class LeanFooter(Footer):
    """The dashboard's footer (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._composed: Signature | None = None  # the keys shown now

    def _signature(self) -> Signature:
        keys = tuple(
            (binding.key, binding.description, binding.action, enabled, tooltip)
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show
        )
        return (keys, self.show_command_palette, self.compact)

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._composed = self._signature()
        yield from super().compose()

    def bindings_changed(self, screen: Screen[object]) -> None:
        # As Footer does, but compared after the refresh, as Footer recomposes: whether a key is
        # enabled may only be settled by then, and a comparison made at once kept a stale footer.
        self._bindings_ready = True
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if self.is_attached and self._signature() != self._composed:
            await self.recompose()  # the same keys: a switch back to this screen costs none

    async def recompose(self) -> None:
        await super().recompose()
        self._drop_removed_watchers()

    def _drop_removed_watchers(self) -> None:
        """Forget the watchers of keys no longer mounted (Textual prunes them only when the
        watched value changes, which `compact` never does here)."""
        watchers: dict[str, list[tuple[object, object]]] = getattr(self, "__watchers", {})
        for entries in watchers.values():
            entries[:] = [
                (node, callback)
                for node, callback in entries
                if getattr(node, "is_attached", True) and not getattr(node, "_closing", False)
            ]
