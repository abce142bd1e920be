"""What authentication and the billing check cost.

One command: `.venv/bin/python bench/auth_cost.py [--requests N]`

Starts daphne on a scratch SQLite database and measures, in the same run:
  1. over HTTP: p50 of GET /healthz (no auth: the raw baseline) against GET /v1/access
     (credential resolved, customer/project/config/balance authorized): ratio and ms added;
  2. in process: p50 of resolve() + authorize() alone (target <= 1 ms);
  3. in process: the API-key lookup as the hand-built statement (accounts.key_lookup)
     against the ORM query it replaces (same rows, same columns, checked to return the
     same data), alone and inside resolve() + authorize(): the ratios say whether the
     hand-built SQL still earns its place.
"""

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from unittest import mock

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def timed_requests(client: httpx.Client, path: str, headers: dict, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text
    return samples


@cache
def _orm_columns() -> tuple[str, ...]:
    """key_lookup's columns as ORM paths from the key, for .only()."""
    from accounts import key_lookup

    paths = {"ApiKey": "", "Customer": "customer__", "Plan": "customer__plan__"}
    paths["CreditAccount"] = "customer__credit_account__"
    return tuple(
        paths[model.__name__] + name for model, _alias, names in key_lookup._READ for name in names
    )


def orm_load_key(prefix: str):
    """The ORM query accounts.key_lookup replaces: the same columns of the same rows."""
    from django.db.models import Exists, OuterRef

    from accounts.models import ApiKey

    found = (
        ApiKey.objects.select_related("customer__plan", "customer__credit_account")
        .only(*_orm_columns())
        .annotate(
            restricted=Exists(ApiKey.projects.through.objects.filter(apikey_id=OuterRef("pk")))
        )
        .filter(prefix=prefix)
        .order_by()[:1]
    )
    return found[0] if found else None


def read_back(key) -> list:
    """What the resolver and the authorizer read of a loaded key."""
    from accounts import key_lookup

    owners = {
        "ApiKey": key,
        "Customer": key.customer,
        "Plan": key.customer.plan,
        "CreditAccount": key.customer.credit_account,
    }
    return [
        getattr(owners[model.__name__], model._meta.get_field(name).attname)
        for model, _alias, names in key_lookup._READ
        for name in names
    ] + [key.restricted]


def timed_calls(fn: Callable[[], object], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="parlance-bench-")
    env = {
        **os.environ,
        "DATA_DIR": data_dir,
        "SECRET_KEY": "bench-secret",
        "JWT_SIGNING_KEY": "bench-jwt-signing-key-0123456789abcdef",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    os.environ.update(env)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    made = json.loads(
        subprocess.run(
            [*manage, "provision", "--customer", "Bench", "--credits", "100", "--json"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    port = 8765
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-p", str(port), "config.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for _ in range(100):
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            key = {"X-API-Key": made["api_key"]}
            timed_requests(client, "/v1/access", key, 50)  # warm-up
            # Interleave rounds so drift (CPU frequency, other load) hits both alike.
            raw, authed = [], []
            for _ in range(10):
                raw += timed_requests(client, "/healthz", {}, args.requests // 10)
                authed += timed_requests(client, "/v1/access", key, args.requests // 10)
    finally:
        server.terminate()
        server.wait()

    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    django.setup()
    from accounts import access, credentials, key_lookup, keys
    from billing.products import Product

    credential = credentials.Credential(made["api_key"])
    prefix = keys.lookup_prefix(made["api_key"])
    assert read_back(key_lookup.load_key(prefix)) == read_back(orm_load_key(prefix)), (
        "the ORM query and the hand-built statement must return the same data"
    )

    def authorize() -> None:
        access.authorize(credentials.resolve(credential), product=Product.ANALYTICS)

    def orm_lookup():
        return mock.patch.object(credentials, "load_key", orm_load_key)

    runs = {
        "sql": (lambda: key_lookup.load_key(prefix), contextlib.nullcontext),
        "orm": (lambda: orm_load_key(prefix), contextlib.nullcontext),
        "auth_sql": (authorize, contextlib.nullcontext),
        "auth_orm": (authorize, orm_lookup),
    }
    series: dict[str, list[float]] = {name: [] for name in runs}
    # Interleaved rounds, as over HTTP; the first one warms up (statements, caches).
    for round_ in range(11):
        for name, (fn, context) in runs.items():
            with context():
                samples = timed_calls(fn, args.requests // 10)
            if round_:
                series[name] += samples
    in_process = series["auth_sql"]

    print(f"requests per series: {args.requests}")
    print(f"GET /healthz (no auth, baseline)   p50 {p50(raw) * 1000:.3f} ms")
    print(f"GET /v1/access (auth + billing)    p50 {p50(authed) * 1000:.3f} ms")
    print(f"ratio authenticated / baseline     {p50(authed) / p50(raw):.2f}x")
    print(f"added by auth + billing over HTTP  {(p50(authed) - p50(raw)) * 1000:.3f} ms")
    print(
        f"resolve() + authorize() in process p50 {p50(in_process) * 1000:.3f} ms (target <= 1 ms)"
    )
    sql, orm = p50(series["sql"]), p50(series["orm"])
    auth_orm = p50(series["auth_orm"])
    print(f"key lookup, hand-built SQL         p50 {sql * 1000:.3f} ms")
    print(f"key lookup, ORM query              p50 {orm * 1000:.3f} ms")
    print(f"ratio ORM / hand-built (lookup)    {orm / sql:.2f}x")
    print(f"resolve() + authorize(), ORM lookup p50 {auth_orm * 1000:.3f} ms")
    print(f"ratio ORM / hand-built (resolve + authorize) {auth_orm / p50(in_process):.2f}x")


if __name__ == "__main__":
    main()
