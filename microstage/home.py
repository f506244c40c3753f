"""The creator home (/dashboard/): panels that apps above the platform contribute (it knows none of them)."""
from collections.abc import Callable

_panels: list[Callable] = []  # (request, creator, role) -> safe HTML, or "" for nothing


def register_panel(render: Callable) -> None:
    if render not in _panels:
        _panels.append(render)


def panels(request, creator, role: str) -> list[str]:
    return [html for html in (render(request, creator, role) for render in _panels) if html]
