"""Which finished runs may be compared, and which of them are seeds of the same arm.

A *comparison* is a set of runs that translated the very same test sentences (same sources, references and
source lengths, same length buckets, same BLEU tokenization): only such runs share a figure, a table and a
paired test. Runs on another test set form another comparison; they are never averaged together.

Inside a comparison, an *arm* is every run whose config agrees on all keys except the seed and keys that
cannot change the translations (paths, loggers, progress bars, devices). So attention none / additive are two
arms, and so are additive with data.max_train_len=30 and =50; seeds of one arm are averaged. A value a run read
from its arm's tuned values (conf/tuned/, e.g. each arm's own learning rate) is part of that arm's recipe and
does not split arms by itself.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from attention_nmt.report.collect import Run
from attention_nmt.tracking.tuning import TUNED_KEYS

NO_ATTENTION = "none"
# Config keys (or prefixes ending in ".") that never make two runs different arms.
NOT_ARM_KEYS = (
    "seed",
    "paths.",
    "callbacks.",
    "logger.",
    "tags",
    "tuned.",
    "ckpt_path",
    "test",
    "trainer.enable_progress_bar",
    "trainer.enable_model_summary",
    "trainer.log_every_n_steps",
    "trainer.accelerator",
    "trainer.devices",
    "trainer.num_nodes",
    "trainer.strategy",
    "data.num_workers",
    "data.eval_batch_size",
)


@dataclass
class Arm:
    """Runs of one configuration that differ only by seed. `setting` holds the keys that tell it apart from the
    comparison's other arms, e.g. (("attention.name", "additive"), ("data.max_train_len", 30))."""

    label: str
    setting: tuple[tuple[str, Any], ...]
    runs: list[Run]

    @property
    def attention(self) -> str:
        return self.runs[0].attention

    @property
    def seeds(self) -> list[Any]:
        return [run.seed for run in self.runs]


@dataclass
class Comparison:
    """Runs on one test set; `rows` are that test set's sentences (from the first run)."""

    name: str
    test_id: str
    buckets: list[dict[str, Any]]  # [{label, lower, upper}] as in results.json
    signature: str  # sacreBLEU signature of the runs
    arms: list[Arm]

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.arms[0].runs[0].rows

    def baseline(self, arm: Arm) -> Arm | None:
        """The `none` arm `arm` is compared with: the one agreeing on every non-attention key, else the only one."""
        if arm.attention == NO_ATTENTION:
            return None
        nones = [a for a in self.arms if a.attention == NO_ATTENTION]
        matching = [a for a in nones if _without_attention(a.setting) == _without_attention(arm.setting)]
        if len(matching) == 1:
            return matching[0]
        return nones[0] if len(nones) == 1 else None


def _without_attention(setting: tuple[tuple[str, Any], ...]) -> tuple[tuple[str, Any], ...]:
    return tuple((k, v) for k, v in setting if not k.startswith("attention."))


def digest_test_set(run: Run) -> str:
    """A digest of what makes scores comparable: the test sentences, the buckets and BLEU's tokenization."""
    digest = hashlib.sha256()
    for row in run.rows:
        digest.update(f"{row['src_words']}\t{row['source']}\t{row['reference']}\n".encode())
    buckets = [(b.label, b.lower, b.upper) for b in run.results.test.buckets]
    digest.update(json.dumps([buckets, _scoring(run.results.bleu_signature)]).encode("utf-8"))
    return digest.hexdigest()[:12]


def _scoring(signature: str) -> str:
    """The parts of a sacreBLEU signature that change scores (all but the version)."""
    return "|".join(part for part in signature.split("|") if not part.startswith("version:"))


def _is_arm_key(key: str) -> bool:
    return not any(key == k or (k.endswith(".") and key.startswith(k)) for k in NOT_ARM_KEYS)


def _tuned(run: Run, key: str) -> bool:
    """True where the run's value of `key` is its arm's tuned value (conf/tuned/), part of the arm's recipe."""
    return key in TUNED_KEYS and bool(run.config.get("tuned.command"))


def _freeze(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def arm_label(setting: tuple[tuple[str, Any], ...]) -> str:
    """'additive', or 'additive, bigru, data.max_train_len=30' when more than the attention differs. A group's
    other keys are not named when its `name` differs (encoder.cell follows encoder.name)."""
    values = dict(setting)
    named_groups = {k.rsplit(".", 1)[0] for k in values if k.endswith(".name")}
    parts = [str(values.get("attention.name", "?"))]
    for key, value in setting:
        group = key.rsplit(".", 1)[0]
        if key == "attention.name" or (group in named_groups and not key.endswith(".name")):
            continue
        parts.append(str(value) if key.endswith(".name") else f"{key}={value}")
    return ", ".join(parts)


def make_arms(runs: list[Run]) -> list[Arm]:
    """Runs grouped by every arm key whose value differs among the runs that have it (attention.name always
    counts). A key only some runs have (an evaluate run has no optim.*) does not split them by itself."""
    keys = sorted({k for run in runs for k in run.config if _is_arm_key(k)})
    differing = [
        k
        for k in keys
        if k == "attention.name"
        or len({repr(run.config[k]) for run in runs if k in run.config and not _tuned(run, k)}) > 1
    ]
    differing.sort(key=lambda k: (k != "attention.name", k))
    groups: dict[tuple, list[Run]] = {}
    for run in runs:
        setting = tuple((k, _freeze(run.config.get(k))) for k in differing)
        groups.setdefault(setting, []).append(run)
    arms = [
        Arm(arm_label(setting), setting, sorted(members, key=lambda r: (str(r.seed), str(r.path))))
        for setting, members in groups.items()
    ]
    order = {NO_ATTENTION: 0, "additive": 1, "multiplicative": 2}
    return sorted(arms, key=lambda a: (order.get(a.attention, 3), a.label))


def make_comparisons(runs: list[Run]) -> list[Comparison]:
    """Finished runs split by test set, each split into arms; named by dataset (plus a digest when two share it)."""
    by_test: dict[str, list[Run]] = {}
    for run in (r for r in runs if r.ok):
        by_test.setdefault(digest_test_set(run), []).append(run)
    comparisons = []
    for test_id, members in by_test.items():
        first = members[0]
        comparisons.append(
            Comparison(
                name=str(first.config.get("data.name", "test")),
                test_id=test_id,
                buckets=[{"label": b.label, "lower": b.lower, "upper": b.upper} for b in first.results.test.buckets],
                signature=first.results.bleu_signature,
                arms=make_arms(members),
            )
        )
    names = [c.name for c in comparisons]
    for comparison in comparisons:
        if names.count(comparison.name) > 1:
            comparison.name = f"{comparison.name}-{comparison.test_id[:6]}"
    return sorted(comparisons, key=lambda c: c.name)
