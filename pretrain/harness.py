"""Evaluate finished checkpoints with lm-evaluation-harness, exactly as a user would their own.

The four tasks are harness task configs (`loglikelihood` output type: the gold answer's
log-likelihood after the prompt; as in the harness's lambada_openai, the target carries its own
leading space) over local JSON Lines files, loaded with `--include_path`.
Each checkpoint is exported as a Hugging Face GPT-2 model (pretrain.export) and run with

    lm_eval --model hf --model_args pretrained=DIR,dtype=float32,add_bos_token=True \\
        --tasks t2mini_knowledge,t2mini_arithmetic,t2mini_causal,t2mini_spatial \\
        --include_path TASKS --device cpu --batch_size 64 --log_samples --output_path OUT

and the logs are imported with t2lib's lm-eval importer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from pretrain.corpus import TASKS, Corpus
from pretrain.export import export_hf
from pretrain.train import load_model

HARNESS_TASKS = [f"t2mini_{task}" for task in TASKS]
HARNESS_DIR = "lm_eval"  # a run's harness output, beside its model.pt
TASK_YAML = """task: {name}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: loglikelihood
doc_to_text: "{{{{prompt}}}}"
doc_to_target: "{{{{' ' + answer}}}}"
metric_list:
  - metric: perplexity
    aggregation: perplexity
    higher_is_better: false
  - metric: acc
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
"""


def write_questions(corpus: Corpus, folder: Path) -> dict[str, Path]:
    """One JSON Lines file per task: prompt, answer, difficulty, answer_set and guess (the
    probability that one guess is right; the harness's docs)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for task, questions in corpus.questions.items():
        path = folder / f"{task}.jsonl"
        path.write_text("".join(json.dumps({"prompt": " ".join(q.prompt), "answer": q.answer,
                                            "difficulty": q.difficulty, "answer_set": q.answer_set,
                                            "guess": q.guess}) + "\n"
                                for q in questions))
        files[task] = path
    return files


def write_task_configs(questions: dict[str, Path], folder: Path) -> Path:
    """The harness task YAMLs, pointing at the question files by absolute path."""
    folder.mkdir(parents=True, exist_ok=True)
    for task, data in questions.items():
        (folder / f"t2mini_{task}.yaml").write_text(TASK_YAML.format(name=f"t2mini_{task}", data=data.resolve()))
    return folder


def lm_eval_command(model_dir: Path, tasks_dir: Path, output: Path, device: str = "cpu") -> list[str]:
    return [sys.executable, "-m", "lm_eval", "--model", "hf",
            "--model_args", f"pretrained={model_dir.resolve()},dtype=float32,add_bos_token=True",
            "--tasks", ",".join(HARNESS_TASKS), "--include_path", str(tasks_dir.resolve()), "--device", device,
            "--batch_size", "64", "--log_samples", "--output_path", str(output.resolve())]


def run_lm_eval(model_dir: Path, tasks_dir: Path, output: Path, device: str = "cpu") -> None:
    """Run the harness offline on one exported checkpoint; raise with its output if it fails."""
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                   "OMP_NUM_THREADS": "1"}
    result = subprocess.run(lm_eval_command(model_dir, tasks_dir, output, device), capture_output=True, text=True,
                            env=environment)
    if result.returncode != 0:
        raise RuntimeError(f"lm_eval failed on {model_dir}:\n{result.stderr[-4000:]}")


def results_file(run_dir: Path) -> Path | None:
    """The harness results file of a run, if it has been evaluated."""
    found = sorted((run_dir / HARNESS_DIR).glob("*/results_*.json"))
    return found[-1] if found else None


def prepare_tasks(corpus: Corpus, folder: Path) -> Path:
    """Write the question files and the task YAMLs under `folder`; return the YAMLs' folder."""
    return write_task_configs(write_questions(corpus, folder / "questions"), folder / "tasks")


def evaluate_run(run_dir: Path, corpus: Corpus, tasks_dir: Path, device: str = "cpu") -> None:
    """Export a finished run's model and evaluate it with the harness into run_dir/HARNESS_DIR."""
    exported = export_hf(load_model(run_dir), corpus, run_dir / "hf")
    run_lm_eval(exported, tasks_dir, run_dir / HARNESS_DIR, device)
    shutil.rmtree(exported)  # the weights stay in model.pt
