"""A real Label Studio server on loopback, in its own virtual environment (it is a Django
server with its own pinned dependencies). The environment is created on first use under
``.venv-label-studio`` at the project root (about a minute from the registry, about 1 GB);
where that install fails, the tests that need the server are skipped with pip's reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from synth_assets_tests.servers.process import ProcessServer, free_port

VERSION = "1.23.2"
VENV = Path(__file__).resolve().parents[2] / ".venv-label-studio"
BINARY = VENV / "bin" / "label-studio"
USER, PASSWORD = "reviewer@example.com", "review-password-1"
# settings a user would otherwise pick up from the environment (Label Studio reads X, HEARTEX_X
# and LABEL_STUDIO_X alike)
UNSET = ("USERNAME", "PASSWORD", "USER_TOKEN", "HOST", "PORT", "DEBUG", "CI")


def ensure_installed() -> str | None:
    """Creates the venv if needed; returns why Label Studio cannot be used here, or None."""
    if BINARY.exists():
        return None
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True, timeout=300
        )
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "--quiet", f"label-studio=={VERSION}"],
            check=True,
            capture_output=True,
            text=True,
            timeout=1200,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        return f"label-studio=={VERSION} could not be installed in {VENV}: {exc} {str(detail)[-500:]}"
    return None if BINARY.exists() else f"{BINARY} missing after pip install label-studio=={VERSION}"


class LabelStudioServer(ProcessServer):
    """``label-studio start`` bound to 127.0.0.1 with a fresh data folder, a user and a legacy API
    token; analytics, Sentry and the version check off (no outbound connections)."""

    name = "label-studio"

    def __init__(self, data_dir: Path, token: str):
        self.port, self.token = free_port(), token  # it would move to the next port if busy
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in UNSET}
        env.update(
            LABEL_STUDIO_BASE_DATA_DIR=str(data_dir),
            LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",  # off by default since 1.20
            LABEL_STUDIO_COLLECT_ANALYTICS="false",
            LABEL_STUDIO_LATEST_VERSION_CHECK="false",
            LABEL_STUDIO_SENTRY_DSN="",
            LABEL_STUDIO_FRONTEND_SENTRY_DSN="",
            LABEL_STUDIO_FEATURE_FLAGS_OFFLINE="true",
            LABEL_STUDIO_CONVERTER_DOWNLOAD_RESOURCES="false",
        )
        command = [
            str(BINARY),
            "start",
            "--no-browser",
            "--internal-host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--username",
            USER,
            "--password",
            PASSWORD,
            "--user-token",
            token,
        ]
        super().__init__(command, f"{self.url}/health", startup_timeout=240, env=env, cwd=str(data_dir))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
