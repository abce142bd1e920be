"""What authentication and the billing check cost.

One command: `.venv/bin/python bench/auth_cost.py [--requests N]`

Starts daphne on a scratch SQLite database and measures, in the same run:
  1. over HTTP: p50 of GET /healthz (no auth: the raw baseline) against GET /v1/access
     (credential resolved, customer/project/config/balance authorized): ratio and ms added;
  2. in process: p50 of resolve() + authorize() alone (target <= 1 ms).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
    from accounts import access, credentials
    from billing.products import Product

    credential = credentials.Credential(made["api_key"])
    in_process = []
    for _ in range(args.requests):
        start = time.perf_counter()
        access.authorize(credentials.resolve(credential), product=Product.ANALYTICS)
        in_process.append(time.perf_counter() - start)

    print(f"requests per series: {args.requests}")
    print(f"GET /healthz (no auth, baseline)   p50 {p50(raw) * 1000:.3f} ms")
    print(f"GET /v1/access (auth + billing)    p50 {p50(authed) * 1000:.3f} ms")
    print(f"ratio authenticated / baseline     {p50(authed) / p50(raw):.2f}x")
    print(f"added by auth + billing over HTTP  {(p50(authed) - p50(raw)) * 1000:.3f} ms")
    print(
        f"resolve() + authorize() in process p50 {p50(in_process) * 1000:.3f} ms (target <= 1 ms)"
    )


if __name__ == "__main__":
    main()
