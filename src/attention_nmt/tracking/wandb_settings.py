"""Which W&B mode a run gets, and who decides it.

W&B decides by itself from, in this order: `WANDB_MODE`, the settings file that `wandb offline` /
`wandb disabled` write (`./wandb/settings`, or the global `~/.config/wandb/settings`), and otherwise online. So a
mode is passed to `wandb.init` only when the user asked for one (`logger.wandb.mode=`) or nothing else decides:
no `WANDB_MODE`, no mode in a settings file and no credentials, where W&B's own default (online) would stop
to ask for a login; this project then runs offline, writing `<run folder>/wandb/offline-run-*` for `wandb sync`.
"""

from __future__ import annotations

import netrc
import os
from collections.abc import Mapping
from urllib.parse import urlparse

from attention_nmt.tracking.wandb_private import wandb_settings

W_AND_B_DEFAULT = "online"  # what wandb.init does when nothing says otherwise


def wandb_mode(requested: str | None = None, env: Mapping[str, str] = os.environ) -> str | None:
    """The `mode` to pass to `wandb.init`: `requested` when given; None when W&B's own settings decide
    (`WANDB_MODE`, a settings-file mode, or credentials for online); else "offline"."""
    if requested:
        return requested
    if env.get("WANDB_MODE") or settings_file_mode() is not None or has_wandb_credentials(env):
        return None
    return "offline"


def effective_mode(requested: str | None = None, env: Mapping[str, str] = os.environ) -> str:
    """The mode the run will get: ours when we pass one, else W&B's own decision."""
    return wandb_mode(requested, env) or env.get("WANDB_MODE") or settings_file_mode() or W_AND_B_DEFAULT


def settings_file_mode() -> str | None:
    """The mode `wandb offline` / `wandb disabled` saved in W&B's settings files, as W&B itself reads them (with
    `WANDB_MODE` layered on top, which callers check first); None when the files set none."""
    mode = wandb_settings().mode
    return None if mode == W_AND_B_DEFAULT else mode


def has_wandb_credentials(env: Mapping[str, str] = os.environ) -> bool:
    """An API key in `WANDB_API_KEY`, or the netrc entry `wandb login` writes; read locally, no network."""
    if env.get("WANDB_API_KEY"):
        return True
    host = urlparse(env.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname or ""
    try:
        entries = netrc.netrc(env.get("NETRC") or None).hosts
    except (OSError, netrc.NetrcParseError):
        return False
    return host in entries or any("wandb" in machine for machine in entries)
