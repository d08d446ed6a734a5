"""The CLI as a user runs it: a real SQLite file, real training; a real subprocess where the process
matters (a campaign on the embedded Ray, the environment, a closed pipe), else in this process
(the ``cli`` fixture)."""

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from connevo.results import queries
from connevo.results.store import open_store
from tests.support import ROOT, connevo, small_spec


def write_spec(tmp_path: Path, **overrides) -> Path:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(small_spec(**overrides)))
    return path


@pytest.mark.slow
def test_run_ls_front_show_end_to_end_on_embedded_ray(tmp_path, cli):
    store = tmp_path / "runs.db"
    spec = write_spec(tmp_path, **{"workers.backend": "ray", "training.polish_epochs": None})
    done = connevo("run", str(spec), "--workers", "2", store=store)
    assert done.returncode == 0, done.stderr
    first_line = done.stdout.splitlines()[0]
    assert first_line.startswith("campaign ")
    campaign_id = first_line.split()[1]
    assert "Pareto front of campaign" in done.stdout
    assert "hypervolume" in done.stderr  # per-generation progress lines
    assert "training on cpu" in done.stderr.splitlines()  # where the workers trained, said once
    assert "front networks trained" in done.stderr and "sample-epochs" in done.stderr  # the final polish
    assert done.stderr.index("polishing") < done.stderr.index("front networks trained")
    assert "on training + validation rows ..." in done.stderr and "rows (training + validation):" in done.stderr

    listing = cli("ls", "--format", "json", store=store)
    [row] = json.loads(listing.stdout)
    assert row["id"] == campaign_id and row["status"] == "finished"
    front = cli("front", "tiny-xor", "--format", "json", store=store)  # by name
    assert front.returncode == 0, front.stderr
    members = json.loads(front.stdout)
    assert members and all("-p" in m["candidate_id"] for m in members)  # polished copies replace the front
    assert row["generations_done"] == 3 and row["candidates"] == 18 + len(members)
    evolved = json.loads(cli("front", "tiny-xor", "--format", "json", "--unpolished", store=store).stdout)
    assert sorted(m["connections"] for m in evolved) == sorted(m["connections"] for m in members)
    assert not any("-p" in m["candidate_id"] for m in evolved)
    again = cli("polish", "tiny-xor", store=store)
    assert again.returncode == 0 and "polished already" in again.stdout
    for key in ["candidate_id", "generation", "val_accuracy", "test_accuracy", "train_accuracy",
                "connections", "params", "flops", "status"]:
        assert key in members[0]
    budget = min(m["connections"] for m in members)
    capped = json.loads(cli("front", campaign_id, "--format", "json", "--max-connections", str(budget), store=store).stdout)
    assert capped and all(m["connections"] <= budget for m in capped)
    csv = cli("front", campaign_id, "--format", "csv", store=store).stdout
    assert csv.splitlines()[0].startswith("candidate_id,generation,val_accuracy")

    best = max(members, key=lambda m: m["val_accuracy"])["candidate_id"]
    shown = json.loads(cli("show", best, "--format", "json", store=store).stdout)
    assert shown["id"] == best and shown["status"] == "ok"
    assert shown["genome"]["nodes"] and shown["genome"]["connections"]
    text = cli("show", best, store=store)
    assert text.returncode == 0 and "connections:" in text.stdout and "parents:" in text.stdout

    status = cli("status", campaign_id, store=store)
    assert status.returncode == 0 and "finished" in status.stdout


def test_store_defaults_to_the_environment_variable(tmp_path, cli, monkeypatch):
    store = tmp_path / "env.db"
    monkeypatch.setenv("CONNEVO_STORE", str(store))
    spec = write_spec(tmp_path, **{"evolution.generations": 0})
    done = cli("run", str(spec), "--backend", "local")
    assert done.returncode == 0, done.stderr
    assert store.exists()
    assert "tiny-xor" in cli("ls").stdout


def test_run_says_first_how_every_network_trains(tmp_path, cli):
    spec = write_spec(tmp_path, **{"evolution.generations": 0, "training.min_steps": 20})
    done = cli("run", str(spec), "--backend", "local", store=tmp_path / "s.db")
    assert done.returncode == 0, done.stderr
    # 120 training rows of XOR at batch 64: 2 steps an epoch, so 20 steps take 10 epochs, not 5
    assert done.stderr.splitlines()[0] == (
        "training: 10 epochs a network (4 after weight inheritance), 2 steps an epoch (batch 64, 120 training "
        "rows); raised from training.epochs = 5 to take training.min_steps = 20 steps")
    # "auto" (the default) ranks a classification's front by the validation accuracy and loss both, and says so
    assert done.stderr.splitlines()[1] == (
        "front: every network that none with as few connections beats on both the validation accuracy and the "
        "validation loss (60 validation rows; objectives.rank_accuracy_by)")
    assert done.stderr.splitlines().count("training on cpu") == 1
    spec = write_spec(tmp_path, **{"evolution.generations": 0, "name": "by-accuracy",
                                   "objectives.rank_accuracy_by": "accuracy"})
    done = cli("run", str(spec), "--backend", "local", store=tmp_path / "s.db")
    assert done.returncode == 0, done.stderr
    assert "ranked by the validation loss" not in done.stderr and "validation accuracy and the" not in done.stderr


def test_run_notes_first_a_feature_column_of_row_numbers(tmp_path, cli):
    csv = tmp_path / "indexed.csv"
    csv.write_text("row,a,label\n" + "".join(f"{i},{(7 * i) % 5},{'xy'[i % 2]}\n" for i in range(30)))
    spec = write_spec(tmp_path, **{"task.dataset": str(csv), "evolution.generations": 0})
    done = cli("run", str(spec), "--backend", "local", store=tmp_path / "s.db")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0].startswith("data: feature column 'row' holds the row numbers (0..29 in file order)")
    assert done.stderr.splitlines()[1].startswith("training: ")


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"evolution.population": 0}, "evolution.population"),
        ({"evolution.popsize": 3}, "unknown key 'evolution.popsize'"),
        ({"objectives.minimize": ["latency"]}, "latency"),
        ({"task.dataset": "imagenet"}, "imagenet"),
        ({"task.dataset": "missing.csv"}, "missing.csv"),
    ],
)
def test_bad_specs_exit_2_with_one_message_and_store_nothing(tmp_path, overrides, message, cli):
    store = tmp_path / "s.db"
    done = cli("run", str(write_spec(tmp_path, **overrides)), store=store)
    assert done.returncode == 2
    assert message in done.stderr and done.stderr.count("error:") == 1
    assert "Traceback" not in done.stderr
    assert cli("ls", "--format", "json", store=store).stdout.strip() in ("[]", "")


def test_bad_data_files_exit_2(tmp_path, cli):
    csv = tmp_path / "d.csv"
    csv.write_text("a,b,label\n1,2,x\n3,oops,y\n" + "".join(f"{i},{i},{'xy'[i % 2]}\n" for i in range(20)))
    store = tmp_path / "s.db"
    done = cli("run", str(write_spec(tmp_path, **{"task.dataset": str(csv)})), store=store)
    assert done.returncode == 2 and "'b'" in done.stderr
    missing_target = cli("run", str(write_spec(tmp_path, **{"task.dataset": str(csv), "task.target": "klass"})), store=store)
    assert missing_target.returncode == 2 and "klass" in missing_target.stderr
    assert json.loads(cli("ls", "--format", "json", store=store).stdout) == []


def test_unknown_ids_exit_2(tmp_path, cli):
    store = tmp_path / "s.db"
    for args in (["front", "nope"], ["show", "nope-1"], ["status", "nope"]):
        done = cli(*args, store=store)
        assert done.returncode == 2 and "nope" in done.stderr, args


def test_a_file_that_is_not_a_connevo_store_is_refused_and_left_untouched(tmp_path, cli):
    other = tmp_path / "notes.db"
    other.write_bytes(b"these are my notes, not a database\n")
    done = cli("ls", store=other)
    assert done.returncode == 2 and "not a connevo database" in done.stderr
    assert other.read_bytes() == b"these are my notes, not a database\n"


def test_help_lists_every_command():
    done = connevo("--help")
    for command in ["run", "resume", "extend", "ls", "status", "front", "show", "plot", "polish", "compress", "export"]:
        assert command in done.stdout


def test_plot_writes_pngs(tmp_path, cli):
    store = tmp_path / "s.db"
    run = cli("run", str(write_spec(tmp_path, **{"evolution.generations": 1})), "--backend", "local", store=store)
    campaign_id = run.stdout.splitlines()[0].split()[1]
    done = cli("plot", campaign_id, "--out", str(tmp_path / "plots"), store=store)
    assert done.returncode == 0, done.stderr
    files = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert files == [f"front-{campaign_id}.png", f"hypervolume-{campaign_id}.png"]
    net = cli("plot", f"{campaign_id}-0", "--candidate", "--out", str(tmp_path / "plots"), store=store)
    assert net.returncode == 0 and (tmp_path / "plots" / f"network-{campaign_id}-0.png").read_bytes()[:4] == b"\x89PNG"


def test_a_time_limited_run_says_where_it_stopped_and_resume_goes_on(tmp_path, cli):
    store = tmp_path / "s.db"
    spec = write_spec(tmp_path, **{"evolution.generations": 3, "training.polish_epochs": 2})
    run = cli("run", str(spec), "--backend", "local", "--time-limit", "0.001", store=store)
    assert run.returncode == 0, run.stderr
    campaign_id = run.stdout.splitlines()[0].split()[1]
    said = " ".join(run.stderr.split())
    assert "time limit 0 s: evolution stops after generation 0 of 3" in said
    assert said.index("evolution stops") < said.index("polishing")  # the front so far is polished
    status = " ".join(cli("status", campaign_id, store=store).stdout.split())
    assert "status finished generations done 1/4" in status
    assert f"its time limit (0 s) stopped evolution after generation 0 of 3; `connevo resume {campaign_id}`" in status
    resumed = cli("resume", campaign_id, store=store)
    assert resumed.returncode == 0, resumed.stderr
    assert "generations done 2/4" in " ".join(cli("status", campaign_id, store=store).stdout.split())
    assert "ended the run" not in said
    bad = cli("run", str(spec), "--backend", "local", "--time-limit", "ten minutes", store=store)
    assert bad.returncode != 0 and "evolution.time_limit" in bad.stderr


def test_a_run_that_used_little_of_its_time_limit_says_how_many_generations_would_fit(tmp_path, cli):
    spec = write_spec(tmp_path, **{"evolution.generations": 1, "training.polish_epochs": 2})
    run = cli("run", str(spec), "--backend", "local", "--time-limit", "1h", store=tmp_path / "s.db")
    assert run.returncode == 0, run.stderr
    said = " ".join(run.stderr.split())
    assert "time limit 60.0 min: evolution.generations (1) ended the run after" in said
    assert "generations would fit in it (raise evolution.generations" in said


def test_compress_from_the_command_line(tmp_path, cli):
    store = tmp_path / "s.db"
    spec = write_spec(tmp_path, **{"task.dataset": "iris", "evolution.generations": 0, "training.epochs": 30})
    run = cli("run", str(spec), "--backend", "local", store=store)
    campaign_id = run.stdout.splitlines()[0].split()[1]
    done = cli("compress", f"{campaign_id}-0", "--prune", "0.25", "--quantize", "int8", "--format", "json", store=store)
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout)
    assert row["id"] == f"{campaign_id}-c1" and row["parents"] == [f"{campaign_id}-0"]
    shown = json.loads(cli("show", row["id"], "--format", "json", store=store).stdout)
    assert shown["extra"]["quantization"] == "int8"
    bad = cli("compress", f"{campaign_id}-0", "--prune", "2", store=store)
    assert bad.returncode == 2 and "prune fraction" in bad.stderr


def test_compress_says_when_int8_takes_more_bytes_than_float32(tmp_path, cli):
    store = tmp_path / "s.db"
    spec = write_spec(tmp_path, **{"task.dataset": "iris", "evolution.generations": 0, "training.epochs": 5})
    campaign_id = cli("run", str(spec), "--backend", "local", store=store).stdout.splitlines()[0].split()[1]
    rows = json.loads(cli("front", campaign_id, "--format", "json", store=store).stdout)
    smallest = min(rows, key=lambda r: r["connections"])  # the network without connections: biases only
    largest = max(rows, key=lambda r: r["connections"])
    tiny = cli("compress", smallest["candidate_id"], "--quantize", "int8", store=store)
    assert tiny.returncode == 0, tiny.stderr
    assert "int8 takes more bytes than float32" in tiny.stdout
    big = cli("compress", largest["candidate_id"], "--quantize", "int8", store=store)
    assert big.returncode == 0 and "int8 takes more bytes" not in big.stdout


def test_compress_says_why_a_polished_networks_copy_has_no_validation_scores(tmp_path, cli):
    store = tmp_path / "s.db"
    spec = write_spec(tmp_path, **{"task.dataset": "iris", "evolution.generations": 0, "training.epochs": 10,
                                   "training.polish_epochs": 5})
    campaign_id = cli("run", str(spec), "--backend", "local", store=store).stdout.splitlines()[0].split()[1]
    front = json.loads(cli("front", campaign_id, "--format", "json", store=store).stdout)
    polished = max(front, key=lambda r: r["connections"])["candidate_id"]
    done = cli("compress", polished, "--quantize", "int8", store=store)
    assert done.returncode == 0, done.stderr
    assert f"note: {polished} trained on the validation rows (the final polish)" in " ".join(done.stdout.split())
    cells = [c.strip() for c in next(line for line in done.stdout.splitlines() if "compressed" in line).split("│")]
    assert cells[1:3] == ["compressed", "-"] and float(cells[3]) > 0  # no validation accuracy, a test accuracy
    after = json.loads(cli("front", campaign_id, "--format", "json", store=store).stdout)
    assert [r["candidate_id"] for r in after] == [r["candidate_id"] for r in front]


def test_polish_a_campaign_that_ran_without_its_polish(tmp_path, cli):
    store = tmp_path / "s.db"
    spec = write_spec(tmp_path, **{"task.dataset": "iris", "evolution.generations": 1, "training.epochs": 20})
    campaign_id = cli("run", str(spec), "--backend", "local", store=store).stdout.splitlines()[0].split()[1]
    before = json.loads(cli("front", campaign_id, "--format", "json", store=store).stdout)
    bad = cli("polish", campaign_id, "--epochs", "0", store=store)
    assert bad.returncode == 2 and "epochs" in bad.stderr
    done = cli("polish", campaign_id, "--epochs", "4", "--format", "json", store=store)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["polished"] + report["failed"] == len(before) and report["epochs"] == 4
    assert report["sample_epochs"] == 4 * report["rows"] * len(before)
    after = json.loads(cli("front", campaign_id, "--format", "json", store=store).stdout)
    assert sorted(m["connections"] for m in after) == sorted(m["connections"] for m in before)
    assert all(m["candidate_id"].startswith(f"{campaign_id}-p") for m in after)


def test_extend_a_finished_campaign(tmp_path, cli):
    from connevo.evolution import run

    store = tmp_path / "s.db"
    campaign_id = run(small_spec(**{"evolution.generations": 0, "training.polish_epochs": 2}), str(store)).campaign_id
    done = cli("extend", campaign_id, "--generations", "2", store=store)
    assert done.returncode == 0, done.stderr
    assert "gen 2/2" in done.stderr and f"Pareto front of campaign {campaign_id}" in done.stdout
    with open_store(store) as opened:
        info = opened.get_campaign(campaign_id)
        assert info["status"] == "finished" and info["generations_done"] == 3
        assert queries.front(opened, campaign_id)["candidate_id"].str.startswith(f"{campaign_id}-p").all()


def test_front_json_carries_every_metric_a_closed_pipe_ends_quietly_and_plot_points_to_candidate(tmp_path, cli):
    import os
    import subprocess

    store = tmp_path / "s.db"
    campaign_id = cli("run", str(write_spec(tmp_path, **{"evolution.generations": 0})), "--backend", "local",
                          store=store).stdout.splitlines()[0].split()[1]
    members = json.loads(cli("front", campaign_id, "--format", "json", store=store).stdout)
    for key in ("depth", "hidden_nodes", "modularity", "train_val_gap", "train_test_gap", "val_loss", "seconds"):
        assert key in members[0], key
    # stdout a pipe whose reader has gone, as after `| head`
    closed_pipe = ("import os, sys; r, w = os.pipe(); os.close(r); os.dup2(w, 1); from connevo.service.cli import main; "
                   f"sys.exit(main(['front', '{campaign_id}', '--format', 'json', '--store', sys.argv[1]]))")
    piped = subprocess.run([sys.executable, "-c", closed_pipe, str(store)], cwd=ROOT, capture_output=True, text=True,
                           timeout=120, env={**os.environ, "RAY_DISABLE_USAGE_STATS": "1"})
    assert piped.returncode == 141 and piped.stderr == ""
    wrong = cli("plot", f"{campaign_id}-0", "--out", str(tmp_path), store=store)
    assert wrong.returncode == 2 and "--candidate" in wrong.stderr


def test_the_command_lines_campaign_process_freezes_its_imports_an_embedding_one_does_not(tmp_path, cli):
    spec = write_spec(tmp_path, **{"evolution.generations": 0})
    # `connevo run` as the command line runs it (main() reading sys.argv), then the freeze count
    code = ("import gc, sys; from connevo.service import cli; "
            "sys.argv = ['connevo', 'run', sys.argv[1], '--store', sys.argv[2]]; status = cli.main(); "
            "print('enabled', gc.isenabled(), 'frozen', gc.get_freeze_count()); sys.exit(status)")
    done = subprocess.run([sys.executable, "-c", code, str(spec), str(tmp_path / "a.db")], cwd=ROOT,
                          capture_output=True, text=True, timeout=240,
                          env={**os.environ, "RAY_DISABLE_USAGE_STATS": "1"})
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.rsplit("frozen", 1)[1]) > 100_000  # the imported modules' objects
    assert "enabled True" in done.stdout  # collections held during the imports run again
    # main(argv) in a process that embeds connevo (this one) leaves its collector as it was
    before = gc.get_freeze_count()
    assert cli("run", str(spec), store=tmp_path / "b.db").returncode == 0
    assert gc.get_freeze_count() == before and gc.isenabled()
