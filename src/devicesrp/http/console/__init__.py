"""The admin console at ``/console/`` of ``devicesrp serve``: the operators' device browser.

Pages: the pools (device policy, MFA, remembered-device cap; editable), a pool's users (search by
user name or e-mail, paginated), one user (attributes, MFA, lockout, and the device table: key,
name, remembered or not, first tracked, last authenticated, last IP, SDK) with actions to forget a
device, mark it remembered or not, and reset the user's lockout. Server-rendered HTML (Jinja2,
autoescaped), usable without JavaScript and from the keyboard.

Modules: ``sessions`` (operator sign-in with the configured admin keys, rate limit, sessions, CSRF),
``views`` (what the pages show and do, over the domain's IdentityProvider), ``forms`` (strict form
parsing), ``render`` (templates, security headers), ``routes`` (the Starlette app).
"""

from __future__ import annotations

from .render import PREFIX
from .routes import console_app

__all__ = ["PREFIX", "console_app"]
