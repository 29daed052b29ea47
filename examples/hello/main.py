from capsule import task


@task(name="analyze", compute="MEDIUM", ram="256MB", timeout="30s", max_retries=1)
def analyze(rows: list) -> dict:
    return {"count": len(rows), "total": sum(rows)}


@task(name="main", compute="HIGH")
def main() -> dict:
    print("hello from the sandbox")
    out = analyze([1, 2, 3])  # runs in a new sandbox instance with analyze's limits
    return {"child": out["result"], "child_succeeded": out["success"]}
