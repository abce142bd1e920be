"""The plans Parlance ships with. Operators tune the rows in the console afterwards."""

PLAN_DEFAULTS: dict[str, dict] = {
    # concurrent_sessions None = negotiated per customer (Customer.concurrent_sessions_override)
    "free": {
        "name": "Free",
        "concurrent_sessions": 1,
        "max_session_minutes": 60,
        "requests_per_minute": 60,
    },
    "pro": {
        "name": "Pro",
        "concurrent_sessions": 10,
        "max_session_minutes": 60,
        "requests_per_minute": 600,
    },
    "enterprise": {
        "name": "Enterprise",
        "concurrent_sessions": None,
        "max_session_minutes": 60,
        "requests_per_minute": None,
    },
}


def seed_plans(plan_model) -> None:
    """Create the shipped plans that are missing; never overwrite an operator's tuning."""
    for code, defaults in PLAN_DEFAULTS.items():
        plan_model.objects.get_or_create(code=code, defaults=defaults)


def get_plan(code: str):
    from billing.models import Plan

    if code not in PLAN_DEFAULTS and not Plan.objects.filter(code=code).exists():
        raise ValueError(f"unknown plan {code!r}")
    plan, _ = Plan.objects.get_or_create(code=code, defaults=PLAN_DEFAULTS.get(code, {}))
    return plan
