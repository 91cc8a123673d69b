"""Checkpoints written by the 2026-12-02 layout still resume to the same images.

`data/checkpoint-2026-12-02-{sgd,adam}` hold a digits run (2 iterations x 2
inner steps, width 8, 20 network images) stopped after its first checkpoint
(step 2), and `expected.npz` the images and boxes the uninterrupted run ended
with. Written by the code of commit 3ada62d, before the image optimizers and
the loop's callbacks had classes of their own.
"""

import pathlib
import shutil

import numpy as np
import pytest

from udd_keras.distillation import distill

DATA = pathlib.Path(__file__).parent / "data"
SETTINGS = dict(iterations=2, inner_steps=2, width=8, net_images=20, checkpoint_every=2)


@pytest.mark.parametrize("image_optimizer", ["sgd", "adam"])
def test_checkpoint_from_the_previous_layout_resumes_exactly(image_optimizer, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(DATA / f"checkpoint-2026-12-02-{image_optimizer}", run)
    expected = np.load(run / "expected.npz")
    starts = []

    class RecordStart:
        def on_start(self, step, total):
            starts.append(step)

    result = distill(
        "digits",
        ipc=1,
        out_dir=str(run),
        resume=True,
        image_optimizer=image_optimizer,
        callbacks=[RecordStart()],
        **SETTINGS,
    )

    # Resumed from the committed step-2 checkpoint, not started over.
    assert starts == [2]

    np.testing.assert_allclose(result.images, expected["images"], atol=1e-6)
    np.testing.assert_array_equal(result.boxes, expected["boxes"])
