"""llama-cpp-python's own OpenAI-compatible server on 127.0.0.1, with the SmolLM2 GGUF."""

from __future__ import annotations

import sys
from pathlib import Path

from synth_assets_tests.servers.process import ProcessServer, free_port


class LlamaCppServer(ProcessServer):
    """``python -m llama_cpp.server`` in its own process group; ``base_url`` ends in /v1."""

    name = "llama_cpp.server"

    def __init__(
        self, model_path: Path, alias: str = "smollm2", n_ctx: int = 2048, startup_timeout: float = 120
    ):
        self.model_path, self.alias, self.n_ctx = model_path, alias, n_ctx
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        command = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--model_alias", alias,
            "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(n_ctx), "--logits_all", "true",
        ]  # fmt: skip
        super().__init__(command, f"{self.base_url}/models", startup_timeout)
