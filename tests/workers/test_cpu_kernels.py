"""A candidate's training does not depend on which of torch's x86 kernel sets the machine runs:
AVX2 and AVX-512 give the same bits, so a campaign's seed fixes its result on a cluster whose
nodes have either (torch picks the widest the processor has; ``ATEN_CPU_CAPABILITY`` forces one).

Each side trains in a child process, since torch reads ``ATEN_CPU_CAPABILITY`` once, at import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from connevo.blas import processor_flags

ROOT = Path(__file__).resolve().parents[2]

TRAIN = """
import hashlib
import numpy as np, torch
from connevo.search_space import InnovationTracker, Regularization
from connevo.search_space.starts import hidden_layer_genome
from connevo.workers import EvaluationRequest, LocalEvaluator, TrainingSettings, load_dataset

torch.set_num_threads(1)
digest = hashlib.sha256()
# three classes, two (a single logit) and a regression; mini-batches of 32 leave short last ones
for name, kind in (("wine", "classification"), ("breast_cancer", "classification"), ("diabetes", "regression")):
    dataset = load_dataset(name, seed=0, kind=kind)
    rng = np.random.default_rng(0)
    requests = []
    for i, activation in enumerate(["relu", "tanh", "sigmoid", "steep_tanh", "identity", "tanh"]):
        regularization = Regularization(weight_decay=0.01, l1_ratio=0.5, dropout=0.2) if i % 2 else None
        genome = hidden_layer_genome(dataset.n_features, max(1, dataset.n_classes), 3 + 2 * i, rng,
                                     InnovationTracker(), input_density=0.6, activation=activation,
                                     regularization=regularization)
        requests.append(EvaluationRequest(f"c-{i}", genome, seed=i))
    settings = TrainingSettings(epochs=3, batch_size=32, learning_rate=0.01)
    for evaluation in LocalEvaluator(dataset, settings).evaluate(requests):
        assert evaluation.ok, evaluation.error
        digest.update(repr((evaluation.val_loss, evaluation.train_loss, evaluation.test_loss)).encode())
        digest.update(repr(evaluation.trained_genome.to_dict()).encode())
print(torch.backends.cpu.get_cpu_capability(), digest.hexdigest())
"""


def train_under(capability: str) -> tuple[str, str]:
    env = {**os.environ, "ATEN_CPU_CAPABILITY": capability}
    done = subprocess.run([sys.executable, "-c", TRAIN], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    used, digest = done.stdout.split()[-2:]
    return used, digest


@pytest.mark.skipif(not {"avx2", "avx512f", "avx512bw", "avx512vl", "avx512dq"} <= processor_flags(),
                    reason="torch runs its AVX-512 kernels only on a processor with AVX-512 (and AVX2)")
def test_avx2_and_avx512_kernels_train_a_candidate_to_the_same_bits():
    (used_avx2, on_avx2), (used_avx512, on_avx512) = train_under("avx2"), train_under("avx512")
    assert (used_avx2, used_avx512) == ("AVX2", "AVX512")
    assert on_avx2 == on_avx512
