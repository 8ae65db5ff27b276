"""Which profiles of the config file botocore merges into a session trayapp wrote."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["shadowing_profiles"]


def shadowing_profiles(config_sections: Iterable[str], session_section: str) -> list[str]:
    """The config-file sections botocore reads as profile ``session_section``.

    ``[profile prod-session]`` in the config file is merged with
    ``[prod-session]`` of the credentials file; if it sets a credential source
    (``role_arn``, ``credential_process``, SSO…), that one wins over the keys
    trayapp wrote.  Whether it does is for the caller to judge.
    """
    from botocore.configloader import build_profile_map

    return [name for name in config_sections if session_section in build_profile_map({name: {}})["profiles"]]
