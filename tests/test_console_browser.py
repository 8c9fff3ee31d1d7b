"""The admin console in a real browser: Debian's headless Chromium driven by Selenium through
Debian's chromedriver, against a real ``devicesrp serve``, with devicesrp's Python client SDK
signing in over boto3 as the real client.

Screenshots of every page land in artifacts/console/ (git-ignored; CI keeps them as artifacts).
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from clients.harness import ADMIN_KEY_ID, ADMIN_SECRET, REPO, Service, shared_service
from clients.raw import sign_in as raw_sign_in
from devicesrp.client import Client, MemoryDeviceStore, StoreKey
from test_http_service import PASSWORD, make_pool, make_user

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SHOTS = REPO / "artifacts" / "console"


def _browser_missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is not installed (Debian packages chromium, chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (the dev extra)"
    return None


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Service:
    return shared_service("sqlite", Path(tmp_path_factory.getbasetemp() / "http-sqlite"))


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    """One headless Chromium for the module (fresh profile, no network beyond 127.0.0.1)."""
    reason = _browser_missing()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager fetch anything
    profile = tempfile.mkdtemp(prefix="console-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=DriverService(CHROMEDRIVER), options=options)
    browser.set_page_load_timeout(30)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


_shot_number = [0]


def shot(driver: Any, name: str) -> Path:
    """Save a full-page screenshot as artifacts/console/NN-name.png (Chrome DevTools capture)."""
    _shot_number[0] += 1
    capture = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
    )
    path = SHOTS / f"{_shot_number[0]:02d}-{name}.png"
    path.write_bytes(base64.b64decode(capture["data"]))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    return path


def by_css(driver: Any, selector: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector)


def all_css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, selector))


def follow(driver: Any, element: Any, *keys: str) -> None:
    """Click a link or button (or type ``keys`` into it) and wait for the next page."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    page = by_css(driver, "html")
    if keys:
        element.send_keys(*keys)
    else:
        element.click()
    WebDriverWait(driver, 20).until(expected_conditions.staleness_of(page))
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def click_button(driver: Any, label: str) -> None:
    """Click the button whose accessible label (aria-label or text) is ``label``."""
    for button in all_css(driver, "button"):
        if label in (button.get_attribute("aria-label"), button.text):
            follow(driver, button)
            return
    raise AssertionError(f"no button labelled {label!r}")


def path_of(driver: Any) -> str:
    return str(urllib.parse.urlsplit(driver.current_url).path)


ACCESSIBILITY_PROBLEMS = """
const problems = [];
if (!document.documentElement.lang) problems.push('no lang');
if (document.querySelectorAll('h1').length !== 1) problems.push('not one h1');
if (document.querySelector('script')) problems.push('a script element');
for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
  if (el.labels.length === 0 && !el.getAttribute('aria-label')) {
    problems.push('unlabelled ' + el.name);
  }
}
for (const el of document.querySelectorAll('button, a')) {
  if (!(el.getAttribute('aria-label') || el.textContent.trim())) {
    problems.push('nameless ' + el.outerHTML);
  }
}
for (const table of document.querySelectorAll('table')) {
  if (!table.querySelector('caption')) problems.push('table without caption');
}
return problems;
"""


def check_accessible(driver: Any) -> None:
    """Labelled controls, named buttons and links, captions, one h1, no script element."""
    assert driver.execute_script(ACCESSIBILITY_PROBLEMS) == [], path_of(driver)


def sign_in_console(driver: Any, svc: Service, target: str) -> None:
    """Open ``target``; when sent to the sign-in form, fill it in from the keyboard alone."""
    from selenium.webdriver.common.keys import Keys

    driver.get(svc.url + target)
    if path_of(driver) == "/console/sign-in":
        check_accessible(driver)
        # the key id field has focus on arrival; Tab reaches the secret, Enter submits
        active = driver.switch_to.active_element
        assert active.get_attribute("id") == "key_id"
        active.send_keys(ADMIN_KEY_ID, Keys.TAB)
        follow(driver, driver.switch_to.active_element, ADMIN_SECRET, Keys.ENTER)
    assert path_of(driver) == urllib.parse.urlsplit(target).path


def tab_to(driver: Any, label: str) -> Any:
    """Press Tab from the top of the page until the control named ``label`` has focus."""
    from selenium.webdriver.common.keys import Keys

    driver.execute_script("document.activeElement && document.activeElement.blur()")
    body = by_css(driver, "body")
    body.send_keys(Keys.TAB)
    first = driver.switch_to.active_element
    assert first.text == "Skip to content"  # the first stop is the skip link
    for _ in range(60):
        active = driver.switch_to.active_element
        if label in (active.get_attribute("aria-label"), active.text):
            return active
        active.send_keys(Keys.TAB)
    raise AssertionError(f"Tab never reached {label!r}")


def sub_of(admin: Any, pool_id: str, username: str) -> str:
    attrs = admin.admin_get_user(UserPoolId=pool_id, Username=username)["UserAttributes"]
    return str({a["Name"]: a["Value"] for a in attrs}["sub"])


def utc(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class WireLog:
    """Every reply the client's boto3 got: (operation, error code, error message)."""

    calls: list[tuple[str, str | None, str | None]] = field(default_factory=list)

    def hook(self, model: Any, parsed: Any, **_: Any) -> None:
        error = parsed.get("Error", {}) if isinstance(parsed, dict) else {}
        self.calls.append((model.name, error.get("Code"), error.get("Message")))


def device_row(driver: Any, key: str) -> dict[str, str]:
    row = by_css(driver, f'tr[data-device-key="{key}"]')
    headers = [th.text for th in all_css(driver, "#devices thead th")]
    cells = [row.find_element("css selector", "th").text] + [
        td.text for td in row.find_elements("css selector", "td")
    ]
    return dict(zip(headers, cells, strict=True))


def test_operator_forgets_the_device_a_real_client_signed_in_with(
    svc: Service, driver: Any
) -> None:
    admin = svc.admin()
    pool_id, client_id = make_pool(svc, "always")
    make_user(svc, pool_id, "dora")
    for other in ("doris", "edgar"):
        make_user(svc, pool_id, other)
    wire = WireLog()
    cognito = svc.public()
    cognito.meta.events.register("after-call.cognito-idp", wire.hook)
    store = MemoryDeviceStore()
    client = Client(
        pool_id,
        client_id,
        store=store,
        cognito=cognito,
        require_server_proof=True,
        device_name="dora-laptop",
    )
    first = client.sign_in("dora", PASSWORD)
    assert first.new_device and first.remembered is True and first.device_key
    second = client.sign_in("dora", PASSWORD)  # the device step runs: last authenticated, IP
    assert second.device_authenticated and second.device_key == first.device_key
    key = first.device_key
    secrets_held = store.load(StoreKey(pool_id, client_id, "dora"))
    assert secrets_held is not None

    # unauthenticated: the user page sends the browser to the sign-in form
    user_sub = sub_of(admin, pool_id, "dora")
    driver.delete_all_cookies()
    driver.get(f"{svc.url}/console/pools/{pool_id}")
    assert path_of(driver) == "/console/sign-in"
    assert by_css(driver, "label[for=key_id]").text == "Admin key id"
    shot(driver, "sign-in")

    sign_in_console(driver, svc, "/console/")
    assert by_css(driver, "h1").text == "User pools"
    pool_link = by_css(driver, f'a[href="/console/pools/{pool_id}"]')
    check_accessible(driver)
    shot(driver, "pools")
    follow(driver, pool_link)
    assert path_of(driver) == f"/console/pools/{pool_id}"

    # find the user: search by user name prefix
    by_css(driver, "#q").send_keys("dor")
    follow(driver, by_css(driver, "form.search button"))
    listed = [a.text for a in all_css(driver, "table tbody th a")]
    assert listed == ["dora", "doris"]
    check_accessible(driver)
    shot(driver, "pool-search")
    follow(driver, by_css(driver, "table tbody th a"))  # dora
    assert by_css(driver, "h1").text == "User dora"
    assert path_of(driver) == f"/console/pools/{pool_id}/users/{user_sub}"

    # the device the client's sign-in created, with the metadata the wire API reports
    wire_device = admin.admin_get_device(UserPoolId=pool_id, Username="dora", DeviceKey=key)[
        "Device"
    ]
    wire_attrs = {a["Name"]: a["Value"] for a in wire_device["DeviceAttributes"]}
    row = device_row(driver, key)
    assert row["Device key"] == key
    assert row["Name"] == "dora-laptop" == wire_attrs["device_name"]
    assert row["Remembered"] == "remembered"
    assert row["Last IP"] == "127.0.0.1" == wire_attrs["last_ip_used"]
    assert row["SDK"] and row["SDK"] == wire_attrs["dev:device_sdk"]
    assert row["First tracked"] == utc(wire_device["DeviceCreateDate"])
    assert row["Last authenticated"] == utc(wire_device["DeviceLastAuthenticatedDate"])
    page = driver.page_source
    for secret in (secrets_held.device_password, ADMIN_SECRET, second.tokens.access_token):
        assert secret not in page
    assert second.tokens.refresh_token is None or second.tokens.refresh_token not in page
    check_accessible(driver)
    shot(driver, "user")

    # mark not remembered here -> the wire sees it; remembered on the wire -> the page shows it
    click_button(driver, "Mark not remembered: dora-laptop")
    assert by_css(driver, "p.notice").text.startswith("The device is now tracked but not")
    assert device_row(driver, key)["Remembered"] == "not remembered"
    status = admin.admin_get_device(UserPoolId=pool_id, Username="dora", DeviceKey=key)
    got = {a["Name"]: a["Value"] for a in status["Device"]["DeviceAttributes"]}
    assert got["dev:device_remembered_status"] == "not_remembered"
    admin.admin_update_device_status(
        UserPoolId=pool_id, Username="dora", DeviceKey=key, DeviceRememberedStatus="remembered"
    )
    driver.refresh()
    assert device_row(driver, key)["Remembered"] == "remembered"

    # a forged token in a real form post is refused and changes nothing
    driver.execute_script(
        "for (const f of document.querySelectorAll('input[name=csrf]')) f.value = 'forged';"
    )
    click_button(driver, "Forget device: dora-laptop")
    assert by_css(driver, "h1").text == "The form was forged or has expired; reload the page."
    shot(driver, "forged-token")
    assert admin.admin_list_devices(UserPoolId=pool_id, Username="dora")["Devices"]

    # forget it, from the keyboard
    from selenium.webdriver.common.keys import Keys

    driver.get(f"{svc.url}/console/pools/{pool_id}/users/{user_sub}")
    follow(driver, tab_to(driver, "Forget device: dora-laptop"), Keys.ENTER)
    assert by_css(driver, "p.notice").text.startswith("The device was forgotten.")
    assert all_css(driver, f'tr[data-device-key="{key}"]') == []
    assert admin.admin_list_devices(UserPoolId=pool_id, Username="dora")["Devices"] == []
    shot(driver, "user-device-forgotten")

    # the client's next sign-in meets "Device does not exist." and signs in again without it
    wire.calls.clear()
    third = client.sign_in("dora", PASSWORD)
    stale = [c for c in wire.calls if c[1] is not None]
    assert stale == [
        ("RespondToAuthChallenge", "ResourceNotFoundException", "Device does not exist.")
    ]
    assert third.new_device and third.device_key not in (None, key)
    assert not third.device_authenticated
    held = store.load(StoreKey(pool_id, client_id, "dora"))
    assert held is not None and held.device_key == third.device_key

    # and the new device shows in the console at once
    driver.refresh()
    assert device_row(driver, str(third.device_key))["Name"] == "dora-laptop"


def test_pool_settings_and_lockout_round_trip(svc: Service, driver: Any) -> None:
    admin = svc.admin()
    pool_id, client_id = make_pool(svc, "always", replaces_mfa=False)
    make_user(svc, pool_id, "frank")
    sign_in_console(driver, svc, f"/console/pools/{pool_id}")

    # edit: opt-in devices that replace MFA, OPTIONAL TOTP, a cap of 3 (evict)
    by_css(driver, "#policy-opt_in").click()
    by_css(driver, "#replaces_mfa").click()
    by_css(driver, "#device_cap").send_keys("3")
    by_css(driver, "#cap_mode option[value=evict]").click()
    by_css(driver, "#mfa_mode option[value=OPTIONAL]").click()
    by_css(driver, "#totp").click()
    click_button(driver, "Save settings")
    assert by_css(driver, "p.notice").text == "The pool settings were saved."
    shot(driver, "pool-saved")
    described = admin.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert described["DeviceConfiguration"] == {
        "ChallengeRequiredOnNewDevice": True,
        "DeviceOnlyRememberedOnUserPrompt": True,
    }
    mfa = admin.get_user_pool_mfa_config(UserPoolId=pool_id)
    assert mfa["MfaConfiguration"] == "OPTIONAL"
    assert mfa["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    assert by_css(driver, "#device_cap").get_attribute("value") == "3"
    assert by_css(driver, "#cap_mode option[value=evict]").is_selected()

    # refused: MFA ON without any factor; the message says why and nothing changes
    by_css(driver, "#totp").click()
    by_css(driver, "#mfa_mode option[value=ON]").click()
    click_button(driver, "Save settings")
    assert "MfaConfiguration" in by_css(driver, "p.error").text
    shot(driver, "pool-refused")
    assert admin.get_user_pool_mfa_config(UserPoolId=pool_id)["MfaConfiguration"] == "OPTIONAL"

    # the wire API's change shows here at once (UpdateUserPool resets omitted settings)
    admin.update_user_pool(UserPoolId=pool_id, MfaConfiguration="OFF")
    driver.get(f"{svc.url}/console/")
    row = by_css(driver, f'a[href="/console/pools/{pool_id}"]').find_element(
        "xpath", "./ancestor::tr"
    )
    cells = [td.text for td in row.find_elements("css selector", "td")]
    assert cells[1:4] == ["off", "no", "OFF"]

    # lockout: 5 wrong passwords, then 2 more after each lock; the console shows it, resets it
    public = svc.public()
    for attempt in range(7):
        if attempt >= 5:
            time.sleep(2.0 ** (attempt - 5) + 0.05)  # wait out the lock (1 s, then 2 s)
        with pytest.raises(ClientError):
            raw_sign_in(public, pool_id, client_id, "frank", "Wrong-Passw0rd!")
    with pytest.raises(ClientError) as info:
        raw_sign_in(public, pool_id, client_id, "frank", PASSWORD)
    assert info.value.response["Error"]["Message"] == "Password attempts exceeded"
    sub = sub_of(admin, pool_id, "frank")
    driver.get(f"{svc.url}/console/pools/{pool_id}/users/{sub}")
    # locked for 4 s from the 7th failure; a slow page load may land after that, so the count
    # is what is checked either way
    state = by_css(driver, "#lockout-state").text
    assert re.fullmatch(
        r"Locked until .* after 7 failed proofs\.|Not locked; 7 failed proofs in a row\.", state
    ), state
    shot(driver, "user-locked")
    click_button(driver, "Reset lockout")
    assert by_css(driver, "#lockout-state").text == "Not locked; no failed proofs."
    assert raw_sign_in(public, pool_id, client_id, "frank", PASSWORD).tokens["AccessToken"]


def test_cross_site_post_and_sign_out(svc: Service, driver: Any) -> None:
    admin = svc.admin()
    pool_id, client_id = make_pool(svc, "always")
    make_user(svc, pool_id, "gina")
    client = Client(pool_id, client_id, store=MemoryDeviceStore(), cognito=svc.public())
    key = client.sign_in("gina", PASSWORD).device_key
    sub = sub_of(admin, pool_id, "gina")
    user_page = f"/console/pools/{pool_id}/users/{sub}"
    sign_in_console(driver, svc, user_page)
    token = by_css(driver, "input[name=csrf]").get_attribute("value")

    # a page on another site posts the real form, even with the right token: the SameSite=Strict
    # cookie is not sent, so the console answers 401 and the device stays
    attack = (
        f'<form method="post" action="{svc.url}{user_page}/devices/{key}/forget">'
        f'<input type="hidden" name="csrf" value="{token}"><button id="go">go</button></form>'
    )
    driver.get("data:text/html;charset=utf-8," + urllib.parse.quote(attack))
    follow(driver, by_css(driver, "#go"))
    assert by_css(driver, "h1").text == "Sign in to use the console."
    shot(driver, "cross-site-post")
    assert [
        d["DeviceKey"]
        for d in admin.admin_list_devices(UserPoolId=pool_id, Username="gina")["Devices"]
    ] == [key]

    # sign out: the session ends on the server, so the old cookie opens nothing
    driver.get(svc.url + user_page)
    cookie = {c["name"]: c for c in driver.get_cookies()}["devicesrp_console"]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/console" and cookie["secure"] is False  # plain HTTP here
    click_button(driver, "Sign out")
    assert path_of(driver) == "/console/sign-in"
    assert by_css(driver, "p.notice").text == "You are signed out."
    shot(driver, "signed-out")
    driver.get(svc.url + user_page)
    assert path_of(driver) == "/console/sign-in"
    replay = urllib.request.Request(
        svc.url + user_page, headers={"Cookie": f"devicesrp_console={cookie['value']}"}
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.build_opener(NoRedirect).open(replay, timeout=10)
    assert err.value.code == 303
    assert err.value.headers["location"].startswith("/console/sign-in?next=")
