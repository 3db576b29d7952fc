"""Known-vulnerable dependencies: run pip-audit over the installed .venv and fail on any finding.

pip-audit looks every installed distribution up in a vulnerability service: PyPI's JSON API (default)
or OSV. Where neither answers (an offline mirror serves only the simple index), nothing can be
audited: say so plainly and do not fail, so CI stays green offline but never claims an audit it did
not do. Exit 1 when a known vulnerability is found or pip-audit itself breaks for another reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

VENV_BIN = Path(__file__).resolve().parent.parent / ".venv" / "bin"


def audit(service: str) -> tuple[str, dict | None, str]:
    """("ok"|"offline"|"error", parsed report or None, stderr) for one vulnerability service."""
    result = subprocess.run(
        [str(VENV_BIN / "pip-audit"), "--local", "--skip-editable", "--format", "json"]
        + ["--progress-spinner", "off", "--timeout", "15", "--vulnerability-service", service],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        offline = any(
            marker in result.stderr for marker in ("ConnectionError", "NameResolutionError", "Max retries exceeded")
        )
        return ("offline" if offline else "error"), None, result.stderr
    dependencies = report.get("dependencies", [])
    looked_up = [dep for dep in dependencies if "skip_reason" not in dep]
    if dependencies and not looked_up:
        return "offline", report, result.stderr
    return "ok", report, result.stderr


def main() -> int:
    if not (VENV_BIN / "pip-audit").exists():
        print("ci: pip-audit is not installed in .venv (dev extra); cannot audit", file=sys.stderr)
        return 1
    for service in ("pypi", "osv"):
        status, report, stderr = audit(service)
        if status == "error":
            print(f"ci: pip-audit failed against {service}:\n{stderr[-2000:]}", file=sys.stderr)
            return 1
        if status == "offline":
            continue
        assert report is not None
        dependencies = report["dependencies"]
        vulnerable = [dep for dep in dependencies if dep.get("vulns")]
        skipped = [dep["name"] for dep in dependencies if "skip_reason" in dep]
        audited = len(dependencies) - len(skipped)
        for dep in vulnerable:
            for vuln in dep["vulns"]:
                fixed = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
                print(f"ci: VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
        if skipped:
            print(f"ci: pip-audit could not look up {len(skipped)} distribution(s): {', '.join(sorted(skipped))}")
        if vulnerable:
            print(f"ci: pip-audit ({service}): {len(vulnerable)} of {audited} audited distributions are vulnerable")
            return 1
        print(f"ci: pip-audit ({service}): {audited} distributions audited, no known vulnerabilities")
        return 0
    print(
        "ci: pip-audit SKIPPED: no vulnerability service answers from this machine (PyPI's JSON API and "
        "api.osv.dev are unreachable; the package mirror serves only the simple index). Nothing was audited."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
