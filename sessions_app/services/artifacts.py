"""Per-conversation artifacts under DATA_DIR/<conversation_id>/.

upload.<ext> (or live chunks), events.jsonl, timeline.json, summary.json,
segmentation.json, insights.json, agent_outputs.json and analysis.json. Writes are
atomic (temp file + rename) so a reader never sees half a file.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings


class ArtifactStore:
    def __init__(self, conversation_id: str):
        self.conversation_id = conversation_id
        self.dir = Path(settings.DATA_DIR) / "conversations" / conversation_id

    def ensure(self) -> "ArtifactStore":
        self.dir.mkdir(parents=True, exist_ok=True)
        return self

    def path(self, name: str) -> Path:
        return self.dir / name

    def relative(self, name: str = "") -> str:
        """Paths as the API reports them: relative to the conversations root."""
        return f"{self.conversation_id}/{name}" if name else self.conversation_id

    def save_upload(self, source: BinaryIO, suffix: str) -> Path:
        self.ensure()
        target = self.path(f"upload{suffix}")
        source.seek(0)
        with open(target, "wb") as out:
            shutil.copyfileobj(source, out, length=1024 * 1024)
        return target

    def write_json(self, name: str, payload: Any) -> Path:
        self.ensure()
        handle, temp = tempfile.mkstemp(dir=self.dir, prefix=f".{name}.")
        with os.fdopen(handle, "w") as out:
            json.dump(payload, out, ensure_ascii=False, default=str)
        os.replace(temp, self.path(name))
        return self.path(name)

    def write_result(self, result, analysis: dict[str, Any]) -> None:
        """A finished conversation's artifacts: its agents' `ConversationResult` and
        the analysis as the surface reports it (analysis.json)."""
        for name, payload in (
            ("timeline.json", result.timeline),
            ("summary.json", result.summary),
            ("insights.json", result.insights),
            ("segmentation.json", result.segmentation),
            ("agent_outputs.json", result.agent_results),
            ("analysis.json", analysis),
        ):
            self.write_json(name, payload)

    def append_events(self, events) -> None:
        self.ensure()
        lines = "".join(
            json.dumps({"id": e.seq, "event": e.type, "data": e.payload}, default=str) + "\n"
            for e in events
        )
        with open(self.path("events.jsonl"), "a") as out:
            out.write(lines)

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
