"""Review requests to Label Studio and finished reviews back, over its HTTP API through
``label-studio-sdk``. One project (by exact title) holds every partition's tasks; a pair is
pushed once (tasks are keyed by partition and pair id, since Label Studio itself does not
de-duplicate imports). A task's decision is the choice of its latest annotation that was not
cancelled. The API key comes from the environment, goes to the SDK and is never logged or
stored."""

from __future__ import annotations

import os

import pandas as pd

from synth_assets.errors import InputDataError
from synth_assets.instructions.review import REVIEW_FIELDS, normalise_decision

API_KEY_VARIABLE = "LABEL_STUDIO_API_KEY"

LABEL_CONFIG = """<View>
  <Header value="Instruction"/>
  <Text name="instruction" value="$instruction"/>
  <Header value="Response"/>
  <Text name="response" value="$response"/>
  <Header value="The critic's verdict (score, reason)"/>
  <Text name="critic" value="$critic_summary"/>
  <Header value="Your decision: keep the pair in the training data, or reject it?"/>
  <Choices name="decision" toName="response" choice="single" showInline="true" required="true">
    <Choice value="keep"/>
    <Choice value="reject"/>
  </Choices>
  <TextArea name="note" toName="response" rows="2" maxSubmissions="1" editable="true"
            placeholder="optional note"/>
</View>"""


def task_key(partition: str, pair_id: str) -> str:
    return f"{partition}/{pair_id}"


def task_data(request: dict) -> dict:
    """A review request as Label Studio task data (every field the label config names is set)."""
    score = request.get("critic_score")
    shown = "no score" if score is None or pd.isna(score) else f"score {score:.4g}"
    reason = request.get("reason") or ""
    return {
        "key": task_key(request["partition"], request["id"]),
        "pair_id": request["id"],
        "partition": request["partition"],
        "instruction": request["instruction"],
        "response": request["response"],
        "critic_verdict": request["critic_verdict"],
        "critic_summary": f"{request['critic_verdict']} ({shown}{'; ' + reason if reason else ''})",
        "topic": request.get("topic") or "",
    }


def decision_of(task) -> tuple[str | None, str, str]:
    """(decision, note, reviewer id) of the task's latest annotation that was not cancelled;
    decision None where nobody has decided."""
    annotations = [a for a in (task.annotations or []) if not a.get("was_cancelled")]
    annotations.sort(key=lambda a: a.get("updated_at") or a.get("created_at") or "")
    for annotation in reversed(annotations):
        results = annotation.get("result") or []
        choice = next(
            (
                r["value"]["choices"][0]
                for r in results
                if r.get("from_name") == "decision" and r.get("value", {}).get("choices")
            ),
            None,
        )
        if choice is None:
            continue
        note = next(
            (" ".join(r["value"].get("text", [])) for r in results if r.get("from_name") == "note"), ""
        )
        return choice, note, str(annotation.get("completed_by") or "")
    return None, "", ""


class LabelStudioReviews:
    def __init__(self, url: str, project_title: str, api_key: str | None = None, timeout: float = 60):
        """``api_key``: default the environment variable LABEL_STUDIO_API_KEY."""
        from label_studio_sdk import LabelStudio

        api_key = api_key or os.environ.get(API_KEY_VARIABLE, "")
        if not api_key:
            raise InputDataError(
                f"Label Studio needs an API key: set {API_KEY_VARIABLE} (a legacy token or a "
                "personal access token from Account & Settings)"
            )
        self.url, self.title = url.rstrip("/"), project_title
        self.client = LabelStudio(base_url=self.url, api_key=api_key, timeout=timeout)
        self._project_id: int | None = None
        self._listed: list | None = None

    def project_id(self, create: bool = True) -> int | None:
        """The project with exactly this title (the server's title filter matches substrings)."""
        if self._project_id is None:
            found = [p for p in self.client.projects.list(title=self.title) if p.title == self.title]
            if found:
                self._project_id = found[0].id
            elif create:
                project = self.client.projects.create(
                    title=self.title,
                    label_config=LABEL_CONFIG,
                    description="synth_assets: keep or reject instruction pairs; "
                    "your decision outranks the critic.",
                )
                self._project_id = project.id
        return self._project_id

    def _tasks(self) -> list:
        """Every task of the project, listed once per object (a push lists again)."""
        if self._listed is None:
            project = self.project_id(create=False)
            # item by item: the SDK pages by itself (its iter_pages raises on the last page)
            listed = (
                []
                if project is None
                else self.client.tasks.list(project=project, fields="all", page_size=100)
            )
            self._listed = list(listed)
        return self._listed

    def push(self, requests: pd.DataFrame) -> int:
        """Imports the requests not yet in the project; returns how many were imported."""
        project = self.project_id()
        seen = {t.data.get("key") for t in self._tasks()}
        new = [
            task_data(r) for r in requests.to_dict("records") if task_key(r["partition"], r["id"]) not in seen
        ]
        if new:
            self.client.projects.import_tasks(id=project, request=new, return_task_ids=True)
            self._listed = None
        return len(new)

    def finished(self, partition: str) -> pd.DataFrame:
        """The partition's decided tasks as review rows."""
        rows = []
        for task in self._tasks():
            if task.data.get("partition") != partition:
                continue
            decision, note, reviewer = decision_of(task)
            if decision is None:
                continue
            where = f"Label Studio task {task.id} ({task.data.get('key')})"
            rows.append(
                {
                    "id": task.data["pair_id"],
                    "partition": partition,
                    "critic_verdict": task.data.get("critic_verdict"),
                    "decision": normalise_decision(decision, where),
                    "reviewer": f"label-studio user {reviewer}" if reviewer else "label-studio",
                    "note": note,
                }
            )
        return pd.DataFrame(rows, columns=REVIEW_FIELDS)

    def pending(self, partition: str) -> int:
        return sum(
            1 for t in self._tasks() if t.data.get("partition") == partition and decision_of(t)[0] is None
        )
