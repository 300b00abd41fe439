"""The report on real tiny runs: files written, figure size, table values recomputed independently with
sacreBLEU, unusable runs listed, verdict built from the numbers; and on hand-made runs with several seeds."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET

import pytest
import sacrebleu
from PIL import Image

from attention_nmt.evaluation.results import RunResults, read_hypotheses
from attention_nmt.report import ReportError, build_report
from attention_nmt.report.figures import DPI, SIZE_INCHES
from attention_nmt.report.tables import p_text
from tests.report.handmade import degrade, make_failed, make_run, toy_corpus

WIDTH, HEIGHT = int(SIZE_INCHES[0] * DPI), int(SIZE_INCHES[1] * DPI)


@pytest.fixture(scope="module")
def report(tiny_multirun, tmp_path_factory):
    return build_report([tiny_multirun], out=tmp_path_factory.mktemp("report"), resamples=200)


def _csv(path):
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_report_figure_files_decode_at_the_expected_size(report):
    [figure] = report.figures.values()
    with Image.open(figure["png"]) as image:
        assert image.size == (WIDTH, HEIGHT)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert len(colours) > 50  # lines, bands and text, not a blank canvas
    svg = ET.parse(figure["svg"]).getroot()
    assert svg.tag.endswith("svg") and svg.get("width") == f"{SIZE_INCHES[0] * 72:g}pt"


def test_report_table_values_equal_sacrebleu_on_the_hypotheses(report, tiny_multirun):
    rows = _csv(report.files["csv"])
    for job in sorted(p for p in tiny_multirun.iterdir() if (p / "results.json").exists()):
        results = RunResults.read(job / "results.json")
        arm = results.config["attention"]["name"]
        hyps = read_hypotheses(job / "hypotheses.tsv")
        written = {"all": results.test, **{b.label: b for b in results.test.buckets}}
        mine = {r["slice"]: r for r in rows if r["arm"] == arm}
        assert set(mine) == {"all", "1-10", "11-20", "21-30", "drop 1-20->21-30"}
        for label, row in mine.items():
            if label.startswith("drop"):
                continue
            lower, upper = (1, 10**6) if label == "all" else (int(row["lower"]), int(row["upper"]))
            picked = [h for h in hyps if lower <= h["src_words"] <= upper]
            system, refs = [h["hypothesis"] for h in picked], [[h["reference"] for h in picked]]
            expected = sacrebleu.corpus_bleu(system, refs)
            assert float(row["bleu"]) == pytest.approx(expected.score, abs=1e-9)
            assert float(row["chrf"]) == pytest.approx(sacrebleu.corpus_chrf(system, refs).score, abs=1e-9)
            assert float(row["length_ratio"]) == pytest.approx(expected.sys_len / expected.ref_len)
            assert written[label].chrf == pytest.approx(float(row["chrf"]), abs=1e-9)  # the run wrote the same
            assert written[label].length_ratio == pytest.approx(float(row["length_ratio"]), abs=1e-12)
            assert int(row["sentences"]) == len(picked)
            assert float(row["ci_low"]) <= float(row["bleu"]) <= float(row["ci_high"])
        short = [h for h in hyps if h["src_words"] <= 20]
        short_bleu = sacrebleu.corpus_bleu([h["hypothesis"] for h in short], [[h["reference"] for h in short]]).score
        drop = mine["drop 1-20->21-30"]
        assert float(drop["bleu"]) == pytest.approx(short_bleu - float(mine["21-30"]["bleu"]), abs=1e-9)
        assert int(drop["sentences"]) == len(short) + int(mine["21-30"]["sentences"])
    additive = {r["slice"]: r for r in rows if r["arm"] == "additive"}
    none = {r["slice"]: r for r in rows if r["arm"] == "none"}
    difference = float(additive["21-30"]["bleu"]) - float(none["21-30"]["bleu"])
    assert float(additive["21-30"]["delta"]) == pytest.approx(difference)
    assert 0 < float(additive["21-30"]["p_value"]) <= 1 and none["21-30"]["p_value"] == ""
    assert additive["21-30"]["p_holm"] == additive["21-30"]["p_value"]  # Holm over one attention arm changes nothing
    interaction = float(none["drop 1-20->21-30"]["bleu"]) - float(additive["drop 1-20->21-30"]["bleu"])
    assert float(additive["drop 1-20->21-30"]["interaction"]) == pytest.approx(interaction)
    assert none["drop 1-20->21-30"]["interaction"] == "" and additive["all"]["bootstrap"] == "sentences only"


def test_report_lists_failed_and_incomplete_runs(report):
    runs = {r["run"].split("_")[0]: r for r in _csv(report.files["runs"])}
    assert runs["2"]["status"] == "failed" and "loss is NaN" in runs["2"]["note"]
    assert runs["3"]["status"] == "incomplete" and runs["3"]["seed"] == "7"
    assert runs["0"]["status"] == runs["1"]["status"] == "finished"
    for key in ("markdown", "html"):
        text = report.files[key].read_text()
        assert "loss is NaN" in text and "2 of 4 runs are not in the figures" in text


def test_report_verdict_is_computed_from_the_numbers(report):
    [scores] = report.scores
    [verdict] = report.verdicts
    none, additive = scores.arms
    longest = additive.buckets[-1]
    assert f"{longest.delta:+.2f} BLEU" in verdict.text()
    assert p_text(longest.p_value, longest.p_bound) in verdict.text()
    assert f"{none.buckets[-1].bleu:.2f}" in verdict.text()
    markdown = report.files["markdown"].read_text()
    assert verdict.headline in markdown and all(detail in markdown for detail in verdict.details)
    assert report.group == "tiny_report"


def test_report_averages_seeds_and_shows_a_clear_win_as_significant(tmp_path):
    test = toy_corpus(80)
    for seed in (1, 2):
        make_run(tmp_path / f"none_s{seed}", "none", degrade(test[2], 0.3, seed), test, seed=seed)
        make_run(tmp_path / f"additive_s{seed}", "additive", degrade(test[2], 0.9, seed), test, seed=seed)
    report = build_report([tmp_path], resamples=300)
    assert report.out == tmp_path / "report"
    rows = {(r["arm"], r["slice"]): r for r in _csv(report.files["csv"])}
    for arm, keep in (("none", 0.3), ("additive", 0.9)):
        per_seed = [sacrebleu.corpus_bleu(degrade(test[2], keep, s), [test[2]]).score for s in (1, 2)]
        assert float(rows[(arm, "all")]["bleu"]) == pytest.approx(sum(per_seed) / 2, abs=1e-9)
        assert rows[(arm, "all")]["seeds"] == "1;2"
    assert "### Over seeds" in report.files["markdown"].read_text()
    longest = rows[("additive", "11+")]
    assert float(longest["delta"]) > 10 and float(longest["p_value"]) < 0.05
    # flat quality for both arms: attention helps at every length, and nothing is specific to long sentences
    assert report.verdicts[0].headline.startswith("Not supported over 2 seeds per arm: attention helps at every length")
    assert "significant at p<0.05: additive is better" in report.verdicts[0].text()


def test_report_of_identical_runs_finds_no_significant_difference(tmp_path):
    test = toy_corpus(60)
    hyps = degrade(test[2], 0.6, 0)
    make_run(tmp_path / "none", "none", hyps, test)
    make_run(tmp_path / "additive", "additive", hyps, test)
    report = build_report([tmp_path], resamples=200)
    p_values = [float(r["p_value"]) for r in _csv(report.files["csv"]) if r["p_value"]]
    assert p_values and all(p == 1.0 for p in p_values)
    assert report.verdicts[0].supported is False


def test_report_refuses_when_no_run_finished(tmp_path):
    make_failed(tmp_path / "0_none", "killed by the OOM killer")
    with pytest.raises(ReportError, match="killed by the OOM killer"):
        build_report([tmp_path])


def test_report_gives_each_test_set_its_own_figure_and_tables(tmp_path):
    for name, test in (("first", toy_corpus(30, seed=0)), ("second", toy_corpus(30, seed=1))):
        make_run(tmp_path / f"{name}_none", "none", degrade(test[2], 0.4, 0), test)
        make_run(tmp_path / f"{name}_additive", "additive", degrade(test[2], 0.6, 0), test)
    report = build_report([tmp_path], resamples=50)
    assert len(report.sections) == 2 and all(len(s.scores.arms) == 2 for s in report.sections)
    pngs = sorted(p.name for p in report.out.glob("*.png"))
    assert len(pngs) == 2 and all(p.startswith("bleu_by_length_toy-") for p in pngs)
    markdown = report.files["markdown"].read_text()
    assert all(f"## {s.scores.comparison.name}" in markdown for s in report.sections)


def test_report_warns_when_an_arm_repeats_a_seed(tmp_path):
    test = toy_corpus(20)
    make_run(tmp_path / "none", "none", test[2], test, seed=3)
    make_run(tmp_path / "none_again", "none", test[2], test, seed=3)
    report = build_report([tmp_path], resamples=20)
    [warning] = report.scores[0].warnings
    assert "seed 3 appears in several runs" in warning and warning in report.files["markdown"].read_text()


def test_report_shows_attention_heatmaps_and_the_aer_each_run_measured(report, tiny_multirun):
    additive = RunResults.read(tiny_multirun / "1_additive_bigru_synthetic_reverse_map_s1234" / "results.json")
    aer = additive.test.aer
    [section] = report.sections
    caption, (headers, rows) = section.tables[-1]
    assert caption.startswith("Alignment error rate") and [r[0] for r in rows] == ["additive"]  # none has no attention
    assert headers[2] == f"all (links={aer.links})"
    assert rows[0][2] == f"{aer.aer:.3f}"
    filled = [b for b in aer.buckets if b.aer is not None]
    assert [r for r in rows[0][3:] if r != "-"] == [f"{b.aer:.3f}" for b in filled]
    sentences = json.loads(
        (tiny_multirun / "1_additive_bigru_synthetic_reverse_map_s1234" / "attention.json").read_text()
    )["sentences"]
    assert [h.path.name for h in section.heatmaps] == [f"attention_additive_{s['index']}.png" for s in sentences]
    for heatmap in section.heatmaps:
        with Image.open(heatmap.path) as image:
            pixels = image.convert("L").getextrema()
        assert pixels[0] < 50 and pixels[1] > 200  # dark background, bright attention cells and labels
    markdown = report.files["markdown"].read_text(encoding="utf-8")
    assert "Alignment error rate" in markdown and f"]({section.heatmaps[0].path.name})" in markdown


def test_bleu_csv_significant_uses_holms_p_where_there_is_one(tmp_path):
    from attention_nmt.report.bleu_csv import csv_rows

    test = toy_corpus(60)
    make_run(tmp_path / "none", "none", degrade(test[2], 0.4, 1), test)
    make_run(tmp_path / "additive", "additive", degrade(test[2], 0.6, 2), test)
    [scores] = build_report([tmp_path], resamples=50).scores
    additive = scores.arms[1]
    for piece in additive.slices:
        piece.p_value, piece.p_holm = 0.03, None
    additive.buckets[-1].p_holm = 0.06  # raw p below 0.05, Holm's above
    rows = {r["slice"]: r for r in csv_rows([scores]) if r["arm"] == "additive"}
    assert rows["11+"]["significant"] is False and rows["11+"]["p_value"] == 0.03
    assert rows["all"]["significant"] is True and rows["1-5"]["significant"] is True
