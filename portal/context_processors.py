def organization(request) -> dict:
    membership = getattr(request, "membership", None)
    if not membership:
        return {"membership": None, "organization": None, "test_mode": False}
    return {
        "membership": membership,
        "organization": membership.organization,
        "test_mode": membership.in_test_mode,
    }
