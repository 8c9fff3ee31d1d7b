#!/usr/bin/env bash
# Make sure the services the tests need are up: PostgreSQL on 127.0.0.1:5432.
# Under CI a missing PostgreSQL is a failure (tests must never skip it silently there).
set -uo pipefail
# Debian packages the tests need: one `apt-get update` for the whole run, only when installing.
APT_UPDATED=""
apt_install() {
  command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ] || return 1
  if [ -z "$APT_UPDATED" ]; then apt-get update -qq >/dev/null 2>&1 && APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1; then
  for v in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || true
  done
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if pg_up; then
  echo "services: PostgreSQL reachable on 127.0.0.1:5432"
elif [ "${CI:-}" = "true" ]; then
  echo "services: PostgreSQL is not reachable on 127.0.0.1:5432 and could not be started" >&2
  exit 1
else
  echo "services: PostgreSQL not reachable; its tests will be skipped with a reason" >&2
fi

# A non-English locale for the client's TIMESTAMP test (tests/test_client_flow.py): de_DE.UTF-8.
if ! locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$'; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    command -v locale-gen >/dev/null 2>&1 || apt_install locales || true
    if command -v locale-gen >/dev/null 2>&1; then
      grep -q '^de_DE.UTF-8 UTF-8' /etc/locale.gen 2>/dev/null \
        || echo 'de_DE.UTF-8 UTF-8' >> /etc/locale.gen
      locale-gen de_DE.UTF-8 >/dev/null 2>&1 || true
    fi
  fi
  if locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$'; then
    echo "services: de_DE.UTF-8 locale installed"
  else
    echo "services: de_DE.UTF-8 locale not available; the TIMESTAMP locale test will skip" >&2
  fi
fi
# valgrind (with its memcheck.h) for the native core's ctgrind test, tests/test_native_valgrind.py.
if ! command -v valgrind >/dev/null 2>&1; then
  apt_install valgrind \
    || echo "services: could not install valgrind; the ctgrind test will skip (fail under CI)" >&2
fi
# libfaketime (Debian's faketime) moves a running serve's clock from outside for the challenge
# expiry and key-rotation rows, tests/test_security_serve_clock.py.
if ! ls /usr/lib/*/faketime/libfaketimeMT.so.1 >/dev/null 2>&1; then
  apt_install faketime \
    || echo "services: could not install faketime; the serve clock tests will skip (fail under CI)" >&2
fi
# Headless Chromium and its driver (Debian's) for the console's browser tests, tests/test_console_*.
if ! { command -v chromium && command -v chromedriver; } >/dev/null 2>&1; then
  apt_install chromium chromium-driver \
    || echo "services: could not install chromium; the console browser tests will skip (fail under CI)" >&2
fi
